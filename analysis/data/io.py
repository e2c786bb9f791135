"""Reading raw transaction logs and writing artifacts.

Readers return the rows exactly as they came in: CSV and text files are read as strings (so the
quarantine file can reproduce a bad row verbatim); Parquet, Excel and SQL keep their own types.
Writers are atomic: a file appears under its final name only once it is complete. CSV files are written by the
one spreadsheet-safe writer, :func:`analysis.data.spreadsheet.write_spreadsheet_csv`; Parquet, JSON and text here.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import InputError
from analysis.params import SourceParams

CSV_SUFFIXES = {".csv", ".txt", ".tsv", ".dat"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls"}


#: Compression suffixes pandas reads transparently (``log.csv.gz``); the format is the suffix before them.
COMPRESSED_SUFFIXES = {".gz", ".bz2", ".zip", ".xz", ".zst"}


def detect_format(path: str | Path) -> str:
    """The reader for a file, from its extension (``.csv.gz`` and other compressed text count as CSV)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in COMPRESSED_SUFFIXES and Path(p.stem).suffix.lower() in CSV_SUFFIXES:
        return "csv"
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    if suffix in EXCEL_SUFFIXES:
        return "excel"
    raise InputError(
        f"{path}: cannot tell the file type from the extension '{suffix}'; use .csv, .parquet or .xlsx, "
        "or set source.format (csv, parquet, excel, sql) in the params"
    )


def read_transactions(source: SourceParams) -> pd.DataFrame:
    """Read the raw transaction log described by ``source``.

    Returns the raw rows with the source's own column names; the column mapping and cleaning are
    applied afterwards by :func:`analysis.data.clean.clean_transactions`.
    """
    fmt = source.format
    if fmt == "sample":
        from analysis.data.sample import generate_transactions

        return generate_transactions(**source.sample.model_dump())
    if fmt == "sql":
        return read_sql(source.url or "", source.query or "")
    if fmt == "dataset":
        from analysis.datasets import get_dataset

        return get_dataset(source.name or "").load_raw()
    path = check_source(source)
    if fmt == "auto":
        fmt = "parquet" if path.is_dir() else detect_format(path)
    # what the input may cost, before reading it: the message names the limit and how to raise it
    if fmt == "csv":
        check_unpacked_size(path, source)
    elif fmt == "excel":
        check_excel_size(path, source)
    try:
        if fmt == "csv":
            plain = path.with_suffix("") if path.suffix.lower() in COMPRESSED_SUFFIXES else path
            sep = "\t" if plain.suffix.lower() == ".tsv" and source.sep == "," else source.sep
            raw = pd.read_csv(
                path,
                sep=sep,
                header=0 if source.header and source.names else None,
                names=source.names,
                skiprows=source.skiprows,
                dtype=str,
                keep_default_na=False,
                na_values=[],
                encoding=source.encoding,
                engine="python" if len(sep) > 1 else "c",
            )
            raw = _promote_header(raw, path) if source.header and not source.names else raw
            _check_separator(raw, path, sep)
            return raw
        if fmt == "parquet":
            return pd.read_parquet(path)
        if fmt == "excel":
            # as text, like CSV: ids such as '007' keep their zeros, and bad rows are kept verbatim; numbers as the
            # kit writes them (_excel_text), so a long id the spreadsheet rounded is never rounded into another id
            raw = pd.read_excel(
                path,
                sheet_name=source.sheet,
                header=None,
                skiprows=source.skiprows,
                dtype=object,
                keep_default_na=False,
                na_values=[],
            )
            raw = raw.apply(lambda column: column.map(_excel_text))
            if source.names:
                return raw.set_axis(source.names, axis=1) if len(source.names) == raw.shape[1] else raw
            return _promote_header(raw, path) if source.header else raw
    except UnicodeDecodeError as err:
        raise InputError(
            f"{path}: not {source.encoding} text ({err.reason} at byte {err.start}); set source.encoding in the "
            "params (or --encoding), e.g. latin-1 or gbk"
        ) from None
    except LookupError:
        raise InputError(f"{path}: unknown encoding '{source.encoding}'; use e.g. utf-8, latin-1 or gbk") from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty (no header, no rows)") from None
    except (zipfile.BadZipFile, EOFError, KeyError) as err:
        raise InputError(
            f"{path}: not a readable {fmt} file, it seems truncated or damaged ({type(err).__name__}: {err}); "
            "copy it again or re-save it (or export the sheet as CSV)"
        ) from None
    except ImportError as err:
        raise InputError(
            f"{path}: reading this file needs a package that is missing ({err}); save it as .xlsx or .csv"
        ) from None
    except (pd.errors.ParserError, ValueError, OSError) as err:
        raise InputError(f"{path}: cannot be read as {fmt}: {err}") from None
    except Exception as err:  # openpyxl's InvalidFileException and other reader-specific errors
        if type(err).__module__.split(".")[0] in ("openpyxl", "xlrd", "pyarrow", "zipfile"):
            raise InputError(f"{path}: cannot be read as {fmt}: {err}") from None
        raise
    raise InputError(f"{path}: unsupported format '{fmt}'")


#: ``<dimension ref="A1:K120000"/>`` near the top of a worksheet's XML: the sheet's used range.
_DIMENSION = re.compile(rb'<dimension[^>]*\bref="(?:[A-Z]+[0-9]+:)?([A-Z]+)([0-9]+)"')


def _column_number(letters: bytes) -> int:
    n = 0
    for c in letters.decode("ascii"):
        n = n * 26 + ord(c) - ord("A") + 1
    return n


def _too_big(path: Path, unpacked: int, source: SourceParams, *, counted: bool = False) -> InputError:
    """The error for a file past ``source.max_unpacked_mb``: its size when known, "more than" when the count
    stopped at the limit (``counted``)."""
    size = "more than the limit" if counted else f"{unpacked / 2**20:,.0f} MB, more than the limit"
    return InputError(
        f"{path}: unpacks to {size} of {source.max_unpacked_mb:,} MB "
        "(source.max_unpacked_mb); if the file is genuine, raise source.max_unpacked_mb in the params"
    )


#: The most a deflate stream can unpack to per byte it holds (258-byte matches in 2-bit codes: about 1032 to 1).
DEFLATE_MAX_RATIO = 1032


def _gzip_unpacked(path: Path, cap: int) -> int | None:
    """Bytes the gzip file ``path`` unpacks to, every member, counted by decompressing in blocks and stopping once
    past ``cap``; None when it cannot be read (the reader then says why)."""
    import gzip
    import zlib

    n = 0
    try:
        with gzip.open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                n += len(block)
                if n > cap:
                    break
    except (OSError, EOFError, zlib.error):
        return None
    return n


def check_unpacked_size(path: Path, source: SourceParams) -> None:
    """Refuse a compressed text file (``.zip``, ``.gz``) that unpacks to more than ``source.max_unpacked_mb``,
    before reading: a zip archive from its directory; a gzip file from its trailer only when that settles it. The
    trailer (ISIZE) records the last member's size modulo 4 GiB, a lower bound of the true size: above the limit,
    the file is refused at once; when the file is too small to unpack past the limit at all (deflate's
    :data:`DEFLATE_MAX_RATIO`), it passes; else (a file past 4 GiB unpacked, or of several members, could hide
    behind a small trailer) the unpacked bytes are counted, stopping at the limit. Other compressions are read as
    they come."""
    suffix = path.suffix.lower()
    limit = source.max_unpacked_mb * 2**20
    if suffix == ".zip":
        try:
            with zipfile.ZipFile(path) as archive:
                unpacked = sum(e.file_size for e in archive.infolist())
        except (zipfile.BadZipFile, OSError):
            return  # the reader says why
    elif suffix == ".gz" and path.stat().st_size >= 18:
        with open(path, "rb") as fh:
            fh.seek(-4, os.SEEK_END)
            unpacked = int.from_bytes(fh.read(4), "little")  # true size = this + k × 4 GiB (last member)
        if unpacked <= limit and path.stat().st_size * DEFLATE_MAX_RATIO > limit:
            counted = _gzip_unpacked(path, limit)
            if counted is not None and counted > limit:
                raise _too_big(path, counted, source, counted=True)
            return
    else:
        return
    if unpacked > limit:
        raise _too_big(path, unpacked, source)


def check_excel_size(path: Path, source: SourceParams) -> None:
    """Refuse an ``.xlsx`` workbook that would cost more than the params allow, before reading it.

    A workbook is a zip archive; a small file can unpack to gigabytes (a "zip bomb", or just an enormous sheet),
    which the Excel reader would hold in memory for many minutes. Checked from the archive's directory and each
    worksheet's declared used range, without unpacking: the unpacked size against ``source.max_unpacked_mb`` and
    rows × columns against ``source.max_cells``. The message names the limit and how to raise it.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return  # an .xls file, or a damaged one: the reader says why
    with archive:
        entries = archive.infolist()
        unpacked = sum(e.file_size for e in entries)
        limit = source.max_unpacked_mb * 2**20
        if unpacked > limit:
            raise InputError(
                f"{path}: unpacks to {unpacked / 2**20:,.0f} MB, more than the limit of {source.max_unpacked_mb:,} MB "
                f"(source.max_unpacked_mb); if the workbook is genuine, raise source.max_unpacked_mb in the params, "
                "or export the sheet as CSV (read far faster)"
            )
        for e in entries:
            if not (e.filename.startswith("xl/worksheets/") and e.filename.endswith(".xml")):
                continue
            with archive.open(e) as fh:
                head = fh.read(4096)
            m = _DIMENSION.search(head)
            if m is None:
                continue
            cells = _column_number(m.group(1)) * int(m.group(2))
            if cells > source.max_cells:
                raise InputError(
                    f"{path}: sheet {Path(e.filename).stem} spans {int(m.group(2)):,} rows × "
                    f"{_column_number(m.group(1)):,} columns = {cells:,} cells, more than the limit of "
                    f"{source.max_cells:,} (source.max_cells); if it is genuine, raise source.max_cells in the "
                    "params, or export the sheet as CSV"
                )


#: Integers from 2**53 up are not exact in a spreadsheet (every number is a double there).
_EXACT_INTEGERS = 2**53


def _excel_text(value: Any) -> str:
    """A spreadsheet cell as text: what ``dtype=str`` gives (``12346`` for 12346.0, ``12.5``, ``2024-01-05
    00:00:00``), except that a number of 2**53 or more in magnitude keeps its exponent notation
    (``1.2345678901234568e+16``): the spreadsheet may have rounded it, so cleaning sets it aside as an id
    (``bad_customer_id``) instead of reading two customers' long ids as one."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value)) if abs(int(value)) < _EXACT_INTEGERS else repr(float(value))
    if isinstance(value, float | np.floating):
        v = float(value)
        if not math.isfinite(v) or abs(v) >= _EXACT_INTEGERS:
            return repr(v)
        return str(int(v)) if v.is_integer() else repr(v)
    return str(value)


#: The columns that tell the clean Parquet written by ``rfmkit clean`` (or the batch's cache) from a raw log.
CLEAN_PARQUET_COLUMNS = frozenset({"customer_id", "order_date", "amount", "is_outlier", "row_id"})


def clean_parquet_rows(path: str | Path) -> int | None:
    """The number of rows of ``path`` when it is clean Parquet (a ``.parquet`` file whose footer holds
    :data:`CLEAN_PARQUET_COLUMNS`), read from the footer without reading any data; None for anything else (a raw
    log, a URL, a renamed CSV, a damaged file: the reader then says why). The one such check of the kit."""
    text = str(path)
    if not text.endswith(".parquet") or "://" in text or not Path(text).is_file():
        return None
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(text)
    except Exception:  # any unreadable file: read_transactions then reports it with its reason
        return None
    return meta.num_rows if set(meta.schema.names) >= CLEAN_PARQUET_COLUMNS else None


#: A source path that is a URL (``s3a://``, ``hdfs://``, ``file://``): not a path the kit's reader can open.
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def check_local_path(path: str) -> None:
    """An :class:`InputError` naming ``path`` and the fix when it is a URL (``s3a://``, ``hdfs://``): a source read
    by the kit (a run's or a batch's, cleaned on the machine or keyed there) is a local path or a shared mount."""
    if _URL.match(path):
        raise InputError(
            f"{path}: source.path is a URL; the kit reads its source from a path on the machine that runs it "
            "(a local folder, or storage mounted there and on every executor), not from s3a://, hdfs:// or other "
            "URLs: mount the storage (e.g. at /mnt/lake/) and set source.path to the folder under it "
            "(/mnt/lake/raw/)"
        )


def check_source(source: SourceParams) -> Path:
    """The file ``source`` reads, or an :class:`InputError` naming ``source.path`` when it is not there.

    Call it before any work (the batch does, before cleaning or hashing the input).
    """
    if source.format in ("sample", "sql"):
        return Path()
    if not source.path:
        raise InputError(f"source.path is not set; name the file to read (format '{source.format}')")
    check_local_path(source.path)
    path = Path(source.path)
    if path.is_dir() and source.format in ("auto", "parquet") and parquet_files(path):
        return path  # a folder of Parquet files (a cluster's shared storage, a Spark job's output): one log
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "input file not found"
        also = " (a folder is read as one log when it holds .parquet files)" if path.is_dir() else ""
        raise InputError(f"{path}: {what}; check source.path in the params or the INPUT argument{also}")
    return path


def parquet_files(folder: str | Path) -> list[Path]:
    """The Parquet files of a log kept as a folder, in the order ``pd.read_parquet`` (pyarrow's dataset) reads
    them: sorted by their whole path strings (``x=a-b/…`` before ``x=a/…``, as ``-`` sorts before ``/``; not part
    by part as paths sort); files whose names start with ``_`` or ``.`` (``_SUCCESS``, hidden files) are not part
    of it, as for pyarrow and Spark."""
    return sorted(
        (
            p for p in Path(folder).rglob("*")
            if p.is_file() and p.suffix.lower() in PARQUET_SUFFIXES
            and not any(part.startswith(("_", ".")) for part in p.relative_to(folder).parts)
        ),
        key=lambda p: p.as_posix(),
    )  # fmt: skip


def check_unique_columns(columns: list[str], origin: str = "input") -> None:
    """Raise an :class:`InputError` naming every column name that occurs more than once (empty names aside)."""
    counts = pd.Series([str(c) for c in columns]).value_counts()
    twice = [name for name, n in counts.items() if n > 1 and name.strip()]
    if twice:
        raise InputError(
            f"{origin}: the header names {twice} more than once, so it is not clear which column to use; "
            "rename the duplicate column(s) in the file (or read it with --no-header --names and --skiprows 1)"
        )


def _promote_header(raw: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Use the first row read as the header; duplicated names are an error (pandas would rename them silently)."""
    if raw.empty and raw.shape[1] == 0:
        return raw
    first = ["" if pd.isna(v) else str(v).strip() for v in raw.iloc[0].tolist()]
    check_unique_columns(first, str(path))
    names = [name or f"Unnamed: {i}" for i, name in enumerate(first)]
    return raw.iloc[1:].set_axis(names, axis=1).reset_index(drop=True)


def _check_separator(raw: pd.DataFrame, path: Path, sep: str) -> None:
    """A text file read as one column whose name holds another separator: suggest ``--sep``."""
    if raw.shape[1] != 1:
        return
    name = str(raw.columns[0])
    for other, shown in ((";", ";"), ("\t", "\\t"), ("|", "|"), (",", ",")):
        if other != sep and other in name:
            raise InputError(
                f"{path}: read as a single column '{name[:60]}' with separator '{sep}', but the header holds "
                f"'{shown}': pass --sep '{shown}' (or set source.sep: '{shown}' in the params)"
            )


def read_sql(url: str, query: str) -> pd.DataFrame:
    """Run ``query`` on any SQLAlchemy ``url`` (``sqlite:///file.db``, ``duckdb:///file.duckdb``, …)."""
    import sqlalchemy as sa

    from analysis.logs import redact_secrets

    shown = redact_secrets(url)  # messages name the source without its password or token
    try:
        engine = sa.create_engine(url)
    except Exception as err:
        raise InputError(redact_secrets(f"{shown}: not a usable SQLAlchemy URL: {err}")) from None
    try:
        with engine.connect() as conn:
            return pd.read_sql_query(sa.text(query), conn)
    except Exception as err:
        raise InputError(redact_secrets(f"{shown}: query failed: {err}")) from None
    finally:
        engine.dispose()


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; artifacts are shared like any written file
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_parquet(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` to Parquet atomically (deterministic bytes for the same frame)."""
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=True, compression="zstd")
    return Path(path)


def write_text(text: str, path: str | Path) -> Path:
    """Write ``text`` as UTF-8 atomically (HTML pages, notebooks, JSON built elsewhere)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def json_safe(data: Any) -> Any:
    """``data`` with every non-finite float (NaN, ±inf, also NumPy's) as ``None``: JSON has no such numbers, and
    ``json.dumps(allow_nan=False)`` accepts the result. The one such function (manifests, ``quality.json``, model
    files)."""
    if isinstance(data, float | np.floating):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: json_safe(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [json_safe(v) for v in data]
    return data


def write_json(data: Any, path: str | Path, sort_keys: bool = True) -> Path:
    """Write ``data`` as indented JSON atomically (keys sorted unless ``sort_keys=False``).

    Pass ``json_safe(data)`` for strict JSON (non-finite floats as null).
    """
    text = json.dumps(data, indent=2, sort_keys=sort_keys, ensure_ascii=False, default=str)
    return write_text(text + "\n", path)
