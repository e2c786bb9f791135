"""A gzip file's trailer (ISIZE) records the last member's unpacked size modulo 4 GiB: a log past 4 GiB unpacked, or
a gzip of several members, can show a small size there. The size check must not trust it alone. Checked with files
of a few MB against a limit of 2 MB: the same logic as 4 GiB + 1 MB showing 1 MB in its trailer."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from analysis.data.io import check_unpacked_size, read_transactions
from analysis.errors import InputError
from analysis.params import SourceParams

HEADER = b"customer_id,order_date,amount\n"
REFUSED = r"^\S+: unpacks to more than the limit of 2 MB \(source\.max_unpacked_mb\)"


def _trailer(path: Path) -> int:
    return int.from_bytes(path.read_bytes()[-4:], "little")


def test_a_gzip_of_several_members_is_counted_whole(tmp_path: Path) -> None:
    # `cat a.gz b.gz > log.csv.gz`: 3 MB in the first member, 10 rows in the last; the trailer says 10 × 20 bytes
    path = tmp_path / "log.csv.gz"
    rows = b"c1,2024-01-05,10.00\n" * 10
    path.write_bytes(gzip.compress(HEADER + b" " * 3 * 2**20, 1) + gzip.compress(rows, 1))
    assert _trailer(path) == len(rows) == 200  # what the old check read as the file's unpacked size
    with pytest.raises(InputError, match=REFUSED):
        read_transactions(SourceParams(path=str(path), max_unpacked_mb=2))


def test_a_trailer_that_wrapped_past_4_gib_is_not_trusted(tmp_path: Path) -> None:
    # 3 MB unpacked, the trailer rewritten to 1 MB: what a log of 4 GiB + 1 MB writes there (size mod 4 GiB)
    path = tmp_path / "log.csv.gz"
    data = bytearray(gzip.compress(HEADER + b" " * 3 * 2**20, 1))
    data[-4:] = (2**20).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    assert _trailer(path) == 2**20
    with pytest.raises(InputError, match=REFUSED):
        check_unpacked_size(path, SourceParams(path=str(path), max_unpacked_mb=2))


def test_the_trailer_still_settles_what_it_can(tmp_path: Path) -> None:
    small, big = tmp_path / "small.csv.gz", tmp_path / "big.csv.gz"
    small.write_bytes(gzip.compress(HEADER + b"c1,2024-01-05,10.00\n", 1))  # 70 bytes: cannot unpack past 2 MB
    big.write_bytes(gzip.compress(HEADER + b" " * 3 * 2**20, 1))
    check_unpacked_size(small, SourceParams(path=str(small), max_unpacked_mb=2))
    with pytest.raises(InputError, match=r"unpacks to 3 MB, more than the limit of 2 MB"):  # its exact size
        check_unpacked_size(big, SourceParams(path=str(big), max_unpacked_mb=2))
    check_unpacked_size(big, SourceParams(path=str(big), max_unpacked_mb=4))  # counted: 3 MB, under 4
