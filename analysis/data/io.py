"""Reading raw transaction logs and writing artifacts.

Readers return the rows exactly as they came in: CSV and text files are read as strings (so the
quarantine file can reproduce a bad row verbatim); Parquet, Excel and SQL keep their own types.
Writers are atomic: a file appears under its final name only once it is complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
    assert source.path is not None
    path = Path(source.path)
    if not path.is_file():
        raise InputError(f"{path}: input file not found; check source.path in the params or the INPUT argument")
    if fmt == "auto":
        fmt = detect_format(path)
    try:
        if fmt == "csv":
            plain = path.with_suffix("") if path.suffix.lower() in COMPRESSED_SUFFIXES else path
            sep = "\t" if plain.suffix.lower() == ".tsv" and source.sep == "," else source.sep
            return pd.read_csv(
                path,
                sep=sep,
                header=0 if source.header else None,
                names=source.names,
                dtype=str,
                keep_default_na=False,
                na_values=[],
                encoding=source.encoding,
                engine="python" if len(sep) > 1 else "c",
            )
        if fmt == "parquet":
            return pd.read_parquet(path)
        if fmt == "excel":
            # as text, like CSV: ids such as '007' keep their zeros, and bad rows are kept verbatim
            return pd.read_excel(path, sheet_name=source.sheet, dtype=str, keep_default_na=False, na_values=[])
    except UnicodeDecodeError as err:
        raise InputError(
            f"{path}: not {source.encoding} text ({err.reason} at byte {err.start}); set source.encoding in the "
            "params (or --encoding), e.g. latin-1 or gbk"
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError) as err:
        raise InputError(f"{path}: cannot be read as {fmt}: {err}") from None
    raise InputError(f"{path}: unsupported format '{fmt}'")


def read_sql(url: str, query: str) -> pd.DataFrame:
    """Run ``query`` on any SQLAlchemy ``url`` (``sqlite:///file.db``, ``duckdb:///file.duckdb``, …)."""
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(url)
    except Exception as err:
        raise InputError(f"{url}: not a usable SQLAlchemy URL: {err}") from None
    try:
        with engine.connect() as conn:
            return pd.read_sql_query(sa.text(query), conn)
    except Exception as err:
        raise InputError(f"{url}: query failed: {err}") from None
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


def write_csv(df: pd.DataFrame, path: str | Path, index: bool = True) -> Path:
    """Write ``df`` to UTF-8 CSV atomically."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=index, encoding="utf-8", lineterminator="\n")
    return Path(path)


def write_json(data: Any, path: str | Path) -> Path:
    """Write ``data`` as indented, key-sorted JSON atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n")
    return Path(path)


def write_table(df: pd.DataFrame, path: str | Path, index: bool = True) -> Path:
    """Write CSV or Parquet, chosen by the extension of ``path``."""
    suffix = Path(path).suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return write_parquet(df, path)
    if suffix in {".csv", ".txt"}:
        return write_csv(df, path, index=index)
    raise InputError(f"{path}: choose a .csv or .parquet file name for the output")
