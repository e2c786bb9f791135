"""The cleaned data, made once per source and reused: ``<output_dir>/_data/clean-<key>/``.

The batch cleans its source once before any kernel starts (every run of the batch reads the same folder); a
notebook run by hand in JupyterLab without a ``clean_dir`` finds (or makes) the same folder, so it never cleans a
source twice either. The folder's name is :func:`source_key`: the source's content (or the sample's spec, or the
query and the day for a database), its column mapping, the cleaning params and the kit's code, so a change to
any of them cleans again into a new folder.

Files (written by :meth:`analysis.data.clean.CleanResult.write`, read back by :func:`load_clean`):
``clean.parquet``, ``quarantine.csv``, ``returns.parquet``, ``quality.json``, and ``regions.json`` (the regions
the clean data holds, sorted).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path

import pandas as pd

from analysis.data.clean import CleanResult, clean_transactions, require_rows
from analysis.data.io import file_sha256, read_transactions, write_json
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
        )
    except FileNotFoundError as err:
        raise InputError(
            f"{d}: cleaned data not found ({err.filename}); run 'rfmkit clean' or the cleaning notebook"
        ) from None


def source_key(params: RunParams) -> str:
    """What identifies the cleaned data: the source's content (or sample spec), mapping and cleaning."""
    src = params.source
    if src.format == "sample":
        content = json.dumps(src.sample.model_dump(mode="json"), sort_keys=True)
    elif src.format == "sql":
        content = f"{src.url}\n{src.query}\n{time.strftime('%Y-%m-%d')}"  # a database changes: re-read daily
    else:
        content = file_sha256(src.path or "")
    payload = json.dumps(
        {
            "content": content,
            "source": src.model_dump(mode="json", exclude={"path"}),
            "columns": params.columns,
            "cleaning": params.cleaning.model_dump(mode="json"),
            "version": code_version(),
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def prepare_clean(params: RunParams) -> tuple[Path, list[str]]:
    """Clean the source once into ``<output_dir>/_data/clean-<key>/``; return it and the regions seen."""
    out = Path(params.output_dir) / "_data" / f"clean-{source_key(params)}"
    regions_path = out / "regions.json"
    if not (out / "quality.json").exists():
        t0 = time.perf_counter()
        result = clean_source(params)
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
