"""The batch: every period × region of a params file, through the notebooks, to HTML reports.

Steps, in order:

1. load and validate the params (before any kernel starts);
2. read and clean the source **once** into ``<output_dir>/_data/clean-<key>/`` (shared by every run);
3. plan the runs: each month of ``periods`` × each region (plus ``all`` regions together);
4. execute each run's notebooks with papermill in its own folder ``<output_dir>/<period>/<region>/``
   (runs in parallel with ``jobs`` workers; a failed run does not stop the others), passing
   artifacts between notebooks through that folder;
5. render each executed notebook to HTML without code, write the run's ``manifest.json``;
6. write ``<output_dir>/index.html`` linking every run.

A run whose fingerprint (cleaned-data hash, effective params, code version) matches its manifest
and whose reports exist is skipped unless ``force``.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from analysis import __version__
from analysis.errors import BatchError, ParamsError
from analysis.io import file_sha256, write_json
from analysis.notebook import ALL_REGIONS, clean_from_params, region_slug
from analysis.params import RunParams, dump_params, load_params
from analysis.report import RunEntry, render_html, write_index

NOTEBOOK_TITLES = {
    "01_cleaning": ("Data quality", "数据质量"),
    "02_scoring": ("RFM scores", "RFM 评分"),
    "03_segmentation": ("Segments", "客户分群"),
    "04_strategy": ("Strategy", "策略建议"),
}


@dataclass
class RunSpec:
    """One period × region run."""

    period: str
    region: str
    run_dir: str


@dataclass
class RunResult:
    """What happened to one run."""

    period: str
    region: str
    run_dir: str
    status: str  # ok | failed | skipped
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    error: str = ""
    failed_notebook: str = ""
    failed_cell: int | None = None
    reports: list[str] = field(default_factory=list)


@dataclass
class BatchResult:
    """Every run of a batch, the index page and the shared cleaned data."""

    runs: list[RunResult]
    index: Path
    clean_dir: Path
    seconds: float

    @property
    def failed(self) -> list[RunResult]:
        return [r for r in self.runs if r.status == "failed"]

    def summary(self) -> str:
        """A few lines a person reads at the end of a batch."""
        ok = sum(r.status == "ok" for r in self.runs)
        skipped = sum(r.status == "skipped" for r in self.runs)
        lines = [
            f"{len(self.runs)} runs: {ok} ok, {skipped} skipped (unchanged), {len(self.failed)} failed "
            f"in {self.seconds:.1f} s. Index: {self.index}"
        ]
        for r in self.failed:
            cell = f", cell {r.failed_cell}" if r.failed_cell is not None else ""
            lines.append(f"  FAILED {r.period}/{r.region}: {r.failed_notebook}{cell}: {r.error}")
        return "\n".join(lines)


def code_version() -> str:
    """A hash of the package's source and the notebooks: a change to either re-runs reports."""
    h = hashlib.sha256(__version__.encode())
    root = Path(__file__).parent
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def git_commit(cwd: Path) -> str | None:
    """The git commit of the working tree, if it is a checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


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
    if not (out / "quality.json").exists():
        result = clean_from_params(params)
        result.write(out)
    import pandas as pd

    regions: list[str] = []
    clean = pd.read_parquet(out / "clean.parquet", columns=None)
    if "region" in clean:
        regions = sorted(str(r) for r in clean["region"].dropna().unique())
    return out, regions


def plan_runs(
    params: RunParams, regions_in_data: list[str], periods: list[str] | None = None, regions: list[str] | None = None
) -> list[RunSpec]:
    """Every (period, region) run to make, in a stable order."""
    months = params.periods.months()
    if periods:
        unknown = sorted(set(periods) - set(months))
        if unknown:
            raise ParamsError(f"period(s) {unknown} are outside the params' range {months[0]}..{months[-1]}")
        months = [m for m in months if m in set(periods)]
    wanted = regions_in_data if params.regions == "all" else list(params.regions)
    missing = sorted(set(wanted) - set(regions_in_data))
    if missing:
        raise ParamsError(f"region(s) {missing} are not in the data; its regions are {regions_in_data}")
    names = ([ALL_REGIONS] if params.include_all_regions or not wanted else []) + wanted
    if regions:
        bad = sorted(set(regions) - set(names))
        if bad:
            raise ParamsError(f"region(s) {bad} not planned; choose among {names}")
        names = [r for r in names if r in set(regions)]
    out = Path(params.output_dir)
    return [RunSpec(m, r, str(out / m / region_slug(r))) for m in months for r in names]


def _fingerprint(params_data: dict[str, Any], clean_key: str, version: str, spec: RunSpec) -> str:
    payload = json.dumps(
        {"params": params_data, "clean": clean_key, "code": version, "period": spec.period, "region": spec.region},
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _report_name(nb: str) -> str:
    return f"{nb}.html"


def execute_run(
    spec: RunSpec, params_path: str, params_data: dict[str, Any], clean_dir: str, fingerprint: str, force: bool = False
) -> RunResult:
    """Execute one run's notebooks and render them; never raises for a notebook failure."""
    import papermill as pm

    params = RunParams.model_validate(params_data)
    run_dir = Path(spec.run_dir)
    manifest_path = run_dir / "manifest.json"
    reports = [_report_name(nb) for nb in params.notebooks]
    if not force and manifest_path.exists():
        try:
            old = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = {}
        if (
            old.get("fingerprint") == fingerprint
            and old.get("status") == "ok"
            and all((run_dir / r).exists() for r in reports)
        ):
            return RunResult(spec.period, spec.region, spec.run_dir, "skipped", reports=reports)

    run_dir.mkdir(parents=True, exist_ok=True)
    executed = run_dir / "_executed"
    executed.mkdir(exist_ok=True)
    started = time.perf_counter()
    result = RunResult(spec.period, spec.region, spec.run_dir, "ok")
    lang = 1 if params.language == "zh" else 0
    nav = [(NOTEBOOK_TITLES.get(nb, (nb, nb))[lang], _report_name(nb)) for nb in params.notebooks]
    nav.insert(
        0, ("« index" if not lang else "« 索引", os.path.relpath(Path(params.output_dir) / "index.html", run_dir))
    )
    for nb in params.notebooks:
        src = Path(params.notebooks_dir) / f"{nb}.ipynb"
        out_nb = executed / f"{nb}.ipynb"
        t0 = time.perf_counter()
        try:
            pm.execute_notebook(
                str(src),
                str(out_nb),
                parameters={
                    "params_path": params_path,
                    "period": spec.period,
                    "region": spec.region,
                    "run_dir": str(run_dir),
                    "clean_dir": clean_dir,
                },
                kernel_name=params.execution.kernel,
                execution_timeout=params.execution.timeout_seconds,
                progress_bar=False,
                log_output=False,
                cwd=str(src.parent),
            )
        except Exception as err:
            result.status = "failed"
            result.failed_notebook = nb
            result.failed_cell = getattr(err, "exec_count", None) or getattr(err, "cell_index", None)
            ename, evalue = getattr(err, "ename", type(err).__name__), getattr(err, "evalue", str(err))
            result.error = f"{ename}: {str(evalue).strip().splitlines()[0] if str(evalue).strip() else ''}"[:500]
            result.timings[nb] = round(time.perf_counter() - t0, 3)
            break
        result.timings[nb] = round(time.perf_counter() - t0, 3)
        title_nb = NOTEBOOK_TITLES.get(nb, (nb, nb))[lang]
        where = spec.region if spec.region != ALL_REGIONS else ("全部地区" if lang else "all regions")
        render_html(out_nb, run_dir / _report_name(nb), f"{params.title} · {title_nb} · {spec.period} · {where}", nav)
        result.reports.append(_report_name(nb))
    result.seconds = round(time.perf_counter() - started, 3)
    _write_manifest(run_dir, spec, params_data, clean_dir, fingerprint, result)
    return result


def _write_manifest(
    run_dir: Path, spec: RunSpec, params_data: dict[str, Any], clean_dir: str, fingerprint: str, result: RunResult
) -> None:
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for pkg in ("rfmkit", "pandas", "numpy", "scipy", "scikit-learn", "papermill", "nbconvert", "pandera"):
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = None
    quality_path = Path(clean_dir) / "quality.json"
    manifest = {
        "period": spec.period,
        "region": spec.region,
        "status": result.status,
        "fingerprint": fingerprint,
        "input": {
            "clean_dir": Path(clean_dir).name,
            "clean_sha256": file_sha256(Path(clean_dir) / "clean.parquet"),
            "quality": json.loads(quality_path.read_text(encoding="utf-8")) if quality_path.exists() else None,
        },
        "params": params_data,
        "versions": {**versions, "python": platform.python_version()},
        "code_version": code_version(),
        "git_commit": git_commit(Path(__file__).parent),
        "timings_seconds": result.timings,
        "error": result.error or None,
        "failed_notebook": result.failed_notebook or None,
        "failed_cell": result.failed_cell,
        "reports": result.reports,
    }
    write_json(manifest, run_dir / "manifest.json")


def run_batch(
    params_path: str | Path,
    periods: list[str] | None = None,
    regions: list[str] | None = None,
    jobs: int | None = None,
    force: bool = False,
    progress: bool = True,
) -> BatchResult:
    """Run every planned period × region; see the module docstring.

    Returns the :class:`BatchResult`; raises :class:`BatchError` (after writing the index) if any
    run failed, with a summary naming the notebook, the cell and the error of each failure.
    """
    started = time.perf_counter()
    params_path = str(Path(params_path).resolve())
    params = load_params(params_path)
    params_data = dump_params(params)
    clean_dir, regions_in_data = prepare_clean(params)
    specs = plan_runs(params, regions_in_data, periods, regions)
    version = code_version()
    jobs = jobs or params.execution.jobs or os.cpu_count() or 1
    results: list[RunResult] = []
    args = [
        (s, params_path, params_data, str(clean_dir), _fingerprint(params_data, clean_dir.name, version, s), force)
        for s in specs
    ]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(specs), desc="runs", unit="run")
    if jobs <= 1 or len(specs) <= 1:
        for a in args:
            results.append(execute_run(*a))
            if bar:
                bar.update()
    else:
        with ProcessPoolExecutor(max_workers=min(jobs, len(specs)), mp_context=get_context("spawn")) as pool:
            futures = [pool.submit(execute_run, *a) for a in args]
            for fut in as_completed(futures):
                results.append(fut.result())
                if bar:
                    bar.update()
    if bar:
        bar.close()
    results.sort(key=lambda r: (r.period, r.region))
    index = _write_index(params, results)
    batch = BatchResult(results, index, clean_dir, round(time.perf_counter() - started, 3))
    if batch.failed:
        raise BatchError(batch.summary())
    return batch


def _write_index(params: RunParams, results: list[RunResult]) -> Path:
    """Index every run folder under ``output_dir`` (this batch's and earlier ones), from the manifests."""
    out = Path(params.output_dir)
    lang = 1 if params.language == "zh" else 0
    by_dir = {Path(r.run_dir).resolve(): r for r in results}
    for manifest in sorted(out.glob("*/*/manifest.json")):
        run_dir = manifest.parent.resolve()
        if run_dir in by_dir:
            continue
        try:
            m = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        by_dir[run_dir] = RunResult(
            m.get("period", run_dir.parent.name),
            m.get("region", run_dir.name),
            str(run_dir),
            m.get("status", "unknown"),
            error=m.get("error") or "",
            failed_notebook=m.get("failed_notebook") or "",
            reports=m.get("reports") or [],
        )
    entries = []
    for r in by_dir.values():
        run_dir = Path(r.run_dir)
        headline_path = run_dir / "headline.json"
        headline = json.loads(headline_path.read_text(encoding="utf-8")) if headline_path.exists() else {}
        rel = os.path.relpath(run_dir, out.resolve())
        links = [(NOTEBOOK_TITLES.get(Path(h).stem, (h, h))[lang], f"{rel}/{h}") for h in r.reports]
        if r.status == "failed":
            links.append(("executed notebook", f"{rel}/_executed/{r.failed_notebook}.ipynb"))
        entries.append(RunEntry(r.period, r.region, r.status, links, headline, r.error))
    return write_index(out, params.title, entries, params.currency, params.language)


def result_dict(result: RunResult) -> dict[str, Any]:
    """A run's result as plain data."""
    return asdict(result)
