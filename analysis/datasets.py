"""Data sets shipped inside the package, with loaders (in the manner of lifetimes' ``load_*``).

Only one today: ``cdnow_sample``, the CDNOW sample of Fader, Hardie & Lee (2005) — 6,919 purchase records of 2,357
customers, 1997-01-01 … 1998-06-30 — the data the published BG/NBD, Pareto/NBD and Gamma-Gamma results were fitted
on. Source, layout and terms: ``analysis/data/cdnow/README.md``.

Three ways to use it:

- :func:`load_cdnow_sample`: the file as it is (raw text columns, as any source is read before cleaning);
- :func:`load_cdnow_transactions`: a transaction frame in canonical columns, ready for the CLV and RFM functions;
- by name, where the kit reads a source: ``source: {format: dataset, name: cdnow_sample}`` in a params file, or
  ``dataset:cdnow_sample`` as the INPUT of a command (``rfmkit datasets`` lists the names and paths).
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import pandas as pd

from analysis.errors import InputError

#: Column names of the CDNOW file (it has no header row), in file order.
CDNOW_COLUMNS: tuple[str, ...] = ("cohort_id", "sample_id", "date", "cds", "dollars")
#: SHA-256 of the uncompressed CDNOW sample as published (``CDNOW_sample.txt``).
CDNOW_SAMPLE_SHA256 = "6fae10155c0b0ba363c2c386e30f77990d22328220efd862a5edd1443420d94a"
#: The CDNOW columns under their canonical names (canonical -> CDNOW), as in ``params/cdnow.yaml``.
CDNOW_MAPPING: dict[str, str] = {
    "customer_id": "sample_id",
    "order_date": "date",
    "amount": "dollars",
    "quantity": "cds",
}
#: Prefix that names a bundled data set where a file is expected (the INPUT of a command).
DATASET_PREFIX = "dataset:"


def _data_file(*parts: str) -> Path:
    resource = files("analysis.data").joinpath(*parts)
    path = Path(str(resource))
    if not path.is_file():
        raise InputError(
            f"{path}: bundled data file missing; the rfmkit installation is incomplete (reinstall it, "
            "e.g. 'make setup' or 'pip install rfmkit')"
        )
    return path


def cdnow_sample_path() -> Path:
    """Path of the bundled CDNOW sample (``CDNOW_sample.txt.gz``: gzip-compressed, whitespace-separated, no header)."""
    return _data_file("cdnow", "CDNOW_sample.txt.gz")


def load_cdnow_sample() -> pd.DataFrame:
    """The CDNOW sample as it is in the file, one row per purchase record, every column as text.

    Columns (see :data:`CDNOW_COLUMNS`): ``cohort_id`` (customer id in the full cohort, 5 digits), ``sample_id``
    (customer id in the sample, ``0001`` … ``2357``), ``date`` (``YYYYMMDD``), ``cds`` (number of CDs bought),
    ``dollars`` (value of the purchase in US dollars). Text, like any source before cleaning: clean it with
    ``params/cdnow.yaml``'s mapping and cleaning, or use :func:`load_cdnow_transactions`.
    """
    return pd.read_csv(
        cdnow_sample_path(),
        sep=r"\s+",
        header=None,
        names=list(CDNOW_COLUMNS),
        dtype=str,
        keep_default_na=False,
        na_values=[],
        compression="gzip",
    )


def load_cdnow_transactions() -> pd.DataFrame:
    """The CDNOW sample as a transaction log in canonical columns, one row per purchase record.

    Columns: ``customer_id`` (the sample id as text, ``0001`` … ``2357``), ``order_date`` (``datetime64[ns]``, a
    day), ``amount`` (US dollars, float), ``quantity`` (CDs, int). All 6,919 records are kept, including same-day
    records (separate purchases) and the few zero-value ones, as in the published CLV analyses.
    """
    raw = load_cdnow_sample()
    return pd.DataFrame(
        {
            "customer_id": raw["sample_id"],
            "order_date": pd.to_datetime(raw["date"], format="%Y%m%d").astype("datetime64[ns]"),
            "amount": raw["dollars"].astype(float),
            "quantity": raw["cds"].astype("int64"),
        }
    )


def cdnow_sample_sha256() -> str:
    """SHA-256 of the bundled sample's uncompressed bytes (equals :data:`CDNOW_SAMPLE_SHA256`)."""
    with gzip.open(cdnow_sample_path(), "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


@dataclass(frozen=True)
class Dataset:
    """A bundled data set: its ``name``, a one-line ``description``, its file and raw loader."""

    name: str
    description: str
    path: Callable[[], Path]
    load_raw: Callable[[], pd.DataFrame]


#: Every bundled data set by name.
DATASETS: dict[str, Dataset] = {
    "cdnow_sample": Dataset(
        "cdnow_sample",
        "CDNOW 1/10 sample (Fader, Hardie & Lee 2005): 6,919 purchases of 2,357 customers, 1997-01 … 1998-06; "
        "columns cohort_id, sample_id, date, cds, dollars",
        cdnow_sample_path,
        load_cdnow_sample,
    ),
}


def get_dataset(name: str) -> Dataset:
    """The bundled data set called ``name`` (an :class:`InputError` listing the names if there is none)."""
    try:
        return DATASETS[name]
    except KeyError:
        raise InputError(f"no bundled data set called '{name}'; the names are {sorted(DATASETS)}") from None


def dataset_name(input_: str) -> str | None:
    """The data set named by a ``dataset:NAME`` input, or ``None`` for anything else (a file or a URL)."""
    return input_[len(DATASET_PREFIX) :] if input_.startswith(DATASET_PREFIX) else None
