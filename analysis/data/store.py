"""The cleaned data, made once per source and reused: ``<output_dir>/_data/clean-<key>/``.

The batch cleans its source once before any kernel starts (every run of the batch reads the same folder); a
notebook run by hand in JupyterLab without a ``clean_dir`` finds (or makes) the same folder, so it never cleans a
source twice either. The folder's name is :func:`source_key`: the source's content (or the sample's spec, or the
query and the day for a database; for a folder of Parquet files, each file's name, size, modification time and
footer: see :func:`parquet_fingerprint`), its column mapping, the cleaning params, the plausible dates they give as of
today (``cleaning.max_date`` empty is one year after today: a clock that was wrong, or a new day, can change which
rows are future-dated) and the kit's code, so a change to any of them cleans again into a new folder. ``force``
(``rfmkit run --force``) cleans again into the same folder. Only the three most recent cleaned folders are kept.

Files (written by :meth:`analysis.data.clean.CleanResult.write`, read back by :func:`load_clean`):
``clean.parquet``, ``quarantine.csv``, ``returns.parquet``, ``allocations.parquet`` (which order each return
undoes), ``quality.json``, and ``regions.json`` (the regions
the clean data holds, sorted).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from analysis.data.clean import CleanResult, clean_transactions, require_rows
from analysis.data.io import check_local_path, file_sha256, parquet_files, read_transactions, write_json
from analysis.data.spreadsheet import restore_formulas
from analysis.errors import InputError
from analysis.params import RunParams
from analysis.resources import code_version

log = logging.getLogger(__name__)


def clean_source(params: RunParams) -> CleanResult:
    """Read the source named in ``params`` and clean it (rows in = clean + quarantined)."""
    raw = read_transactions(params.source)
    from analysis.logs import redact_secrets

    # the origin is written into quality.json and messages: a connection string without its secrets
    origin = params.source.path or redact_secrets(params.source.url) or f"sample(seed={params.source.sample.seed})"
    return clean_transactions(raw, params.columns, params.cleaning, origin=origin)


def load_clean(clean_dir: str | Path) -> CleanResult:
    """Read the cleaned data written by :meth:`analysis.data.clean.CleanResult.write`."""
    d = Path(clean_dir)
    try:
        return CleanResult(
            clean=pd.read_parquet(d / "clean.parquet"),
            quarantine=restore_formulas(pd.read_csv(d / "quarantine.csv", dtype=str, keep_default_na=False)),
            returns=pd.read_parquet(d / "returns.parquet"),
            quality=json.loads((d / "quality.json").read_text(encoding="utf-8")),
            # sales without a customer id (cleaned data written before they were kept: none)
            anonymous=pd.read_parquet(anon) if (anon := d / "anonymous.parquet").is_file() else pd.DataFrame(),
            # the returns' matches to their orders (cleaned data written before matching: matched when used)
            allocations=pd.read_parquet(alloc) if (alloc := d / "allocations.parquet").is_file() else None,
        )
    except FileNotFoundError as err:
        raise InputError(
            f"{d}: cleaned data not found ({err.filename}); run 'rfmkit clean' or the cleaning notebook"
        ) from None


def parquet_fingerprint(path: str | Path) -> str:
    """What identifies a Parquet file without reading its data: its size, modification time (ns) and the SHA-256 of
    its footer (the schema, every row group's row count, byte sizes and offsets, and each column chunk's
    statistics: min, max, null count). Rewriting the file changes its modification time, and almost any change to
    its rows changes the footer's sizes or statistics; only a file rewritten with its modification time set back
    and the same footer would not be seen (``rfmkit run --force`` cleans again). A file that is not readable as
    Parquet (no ``PAR1`` footer) is hashed whole."""
    p = Path(path)
    st = p.stat()
    with open(p, "rb") as fh:
        if st.st_size >= 12:
            fh.seek(-8, 2)
            tail = fh.read(8)
            length = int.from_bytes(tail[:4], "little")
            if tail[4:] == b"PAR1" and 0 < length <= st.st_size - 12:
                fh.seek(-8 - length, 2)
                footer = hashlib.sha256(fh.read(length)).hexdigest()
                return f"{st.st_size} {st.st_mtime_ns} footer:{footer}"
    return f"{st.st_size} sha256:{file_sha256(p)}"


def source_key(params: RunParams) -> str:
    """What identifies the cleaned data: the source's content (or sample spec), mapping and cleaning.

    A folder of Parquet files (a log on a cluster's shared storage) is keyed by each file's name and
    :func:`parquet_fingerprint` (the footers only: the machine running the batch reads no rows of it); a single
    file by the SHA-256 of its bytes. A remote URL (``s3a://``, ``hdfs://``) is refused: the batch's source must be
    a path it reads (a local folder or a shared mount)."""
    src = params.source
    if src.path:
        check_local_path(src.path)
    if src.format == "sample":
        content = json.dumps(src.sample.model_dump(mode="json"), sort_keys=True)
    elif src.format == "sql":
        content = f"{src.url}\n{src.query}\n{time.strftime('%Y-%m-%d')}"  # a database changes: re-read daily
    elif src.path and Path(src.path).is_dir():  # a folder of Parquet files: each file's name and footer
        content = "\n".join(
            f"{f.relative_to(src.path).as_posix()} {parquet_fingerprint(f)}" for f in parquet_files(src.path)
        )
    else:
        content = file_sha256(src.path or "")
    payload = json.dumps(
        {
            "content": content,
            "source": src.model_dump(mode="json", exclude={"path"}),
            "columns": params.columns,
            "cleaning": params.cleaning.model_dump(mode="json"),
            # the plausible dates as of today: rows after the last one are dropped as bad_date (issue 19 failure 10)
            "dates": [str(d.date()) for d in params.cleaning.date_range()],
            "version": code_version(),
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


#: The name of a cleaned-data folder: ``clean-`` and the 16 hex digits of :func:`source_key`.
_CLEAN_FOLDER = re.compile(r"^clean-[0-9a-f]{16}$")
#: How many cleaned-data folders are kept (the newest; each a full copy of the clean data).
KEEP_CLEANED = 3


def _prune_cleaned(current: Path) -> None:
    """Remove all but the :data:`KEEP_CLEANED` newest cleaned-data folders beside ``current`` (only folders named
    and filled like the kit's: ``clean-<key>`` holding ``quality.json``)."""
    folders = [
        p for p in current.parent.iterdir()
        if p != current and _CLEAN_FOLDER.match(p.name) and p.is_dir() and not p.is_symlink()
        and (p / "quality.json").is_file()
    ]  # fmt: skip
    for old in sorted(folders, key=lambda p: p.stat().st_mtime, reverse=True)[KEEP_CLEANED - 1 :]:
        shutil.rmtree(old, ignore_errors=True)
        log.info("removed an older cleaned-data folder: %s", old)


def prepare_clean(
    params: RunParams, force: bool = False, clean: Callable[[RunParams], CleanResult] | None = None
) -> tuple[Path, list[str]]:
    """Clean the source once into ``<output_dir>/_data/clean-<key>/``; return it and the regions seen.

    ``force`` cleans again even when the folder is there (``rfmkit run --force``). ``clean`` cleans the source
    (default :func:`clean_source`; the engine's cleaning, :func:`analysis.engines.spark_clean.source_cleaner`, for a
    Parquet log with ``engine: spark``): the same result, so the folder's key does not name it.
    """
    out = Path(params.output_dir) / "_data" / f"clean-{source_key(params)}"
    regions_path = out / "regions.json"
    if force and (out / "quality.json").is_file() and not out.is_symlink():
        shutil.rmtree(out)
    if out.parent.is_dir():
        _prune_cleaned(out)
    if not (out / "quality.json").exists():
        t0 = time.perf_counter()
        result = (clean or clean_source)(params)
        result.write(out)
        q = result.quality
        log.info(
            "cleaned the source in %.1f s: %s rows in, %s clean, %s quarantined (%s), %s outliers flagged -> %s",
            time.perf_counter() - t0,
            q.get("rows_in"),
            q.get("rows_clean"),
            q.get("rows_quarantined"),
            ", ".join(f"{k} {v}" for k, v in (q.get("reasons") or {}).items() if v) or "none",
            q.get("outliers_flagged"),
            out,
        )
    else:
        log.info("cleaned data unchanged, reused: %s", out)
    require_rows(json.loads((out / "quality.json").read_text(encoding="utf-8")))  # no rows: say so, once
    if regions_path.exists():
        return out, json.loads(regions_path.read_text(encoding="utf-8"))
    import pyarrow.parquet as pq

    regions: list[str] = []
    if "region" in pq.read_schema(out / "clean.parquet").names:
        column = pq.read_table(out / "clean.parquet", columns=["region"]).column("region").to_pandas()
        regions = sorted(str(r) for r in column.dropna().unique())
    write_json(regions, regions_path)
    return out, regions
