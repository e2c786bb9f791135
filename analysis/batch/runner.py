"""The batch: every period × region of a params file, through the notebooks, to one HTML report per run.

Steps, in order:

1. load and validate the params (before any kernel starts);
2. read and clean the source **once** into ``<output_dir>/_data/clean-<key>/`` (shared by every run);
3. plan the runs: each month of ``periods`` × each region (plus ``all`` regions together), and skip
   those whose fingerprint (cleaned-data hash, effective params, code and notebooks) matches an ``ok``
   manifest with its report, unless ``force``;
4. execute each remaining run's notebooks in its worker's warm kernel (:mod:`analysis.batch.kernels`: started
   once per worker and reused across its runs, the namespace reset between notebooks and runs, replaced after a
   failed run), in parallel in watched worker processes (:mod:`analysis.batch.pool`): a failed, hung or killed
   run does not stop the others, and a run that hangs is killed at its deadline; with control groups on
   (``experiment.enabled``) the periods run one after another (the regions of a period in parallel), since a run
   measures the actions the previous period's run assigned;
5. render the run's executed notebooks into one ``report.html`` without code (:mod:`analysis.report.render`),
   in the worker (so reports render in parallel), write ``manifest.json`` last;
6. write ``<output_dir>/index.html`` (:mod:`analysis.report.index_page`) from every manifest on disk.

**Atomic runs.** A run is built in a hidden staging folder beside its final one
(``<output_dir>/<period>/.<folder>.partial-<batch id>/``, passed to the notebooks as ``run_dir``) and moved into
place by renames only once its manifest is written. A killed batch therefore leaves either the
previous complete run folder or none, never a half-written report; the next batch finds no ``ok``
manifest for that run, re-runs it and so completes the batch (and removes the killed batch's staging folders).

**One batch per output folder.** :func:`run_batch` holds the folder's lock (:mod:`analysis.batch.lock`) from
before it cleans the data until the index is written: a second batch on the same folder waits (or, with
``wait=False``, ``rfmkit run --no-wait``, fails at once naming the holder). Staging folders carry the batch id
as well, so even batches that ignore the lock cannot remove each other's work.

**Folders.** Each run lives in ``<output_dir>/<period>/<folder>/``, the folder named by
:func:`analysis.batch.naming.region_folder`: ``all`` for all regions together, a region's own name when it is a
plain folder name, else a slug and a short hash, so distinct regions never share a folder and a data region
literally named ``all`` gets its own (``all~…``).

**Customer ids.** Reports show pseudonyms (:mod:`analysis.privacy`). The key is loaded (or made) once before any
kernel starts; kernels find it the same way (environment variable ``RFMKIT_PSEUDONYM_KEY``, inherited, or
``privacy.key_file`` / the kit's key file): the secret is never a notebook parameter, so it is never written into
an executed notebook, a manifest or a log.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import re
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from analysis.batch import import_jsonschema_without_iri_grammar

# before anything imports nbformat (analysis.report.render does): the batch's parent and each worker (a spawned
# process that unpickles execute_run from this module) would otherwise build jsonschema's IRI grammar, ~1 CPU s each
import_jsonschema_without_iri_grammar()

from analysis.data.io import file_sha256, write_json, write_text  # noqa: E402
from analysis.data.store import prepare_clean  # noqa: E402
from analysis.errors import BatchError, ParamsError  # noqa: E402
from analysis.params import RunParams, dump_params, load_params  # noqa: E402
from analysis.regions import ALL_REGIONS, parse_region, region_name, region_slug, rep_run  # noqa: E402
from analysis.report.index_page import RunEntry, write_index  # noqa: E402
from analysis.report.render import (  # noqa: E402
    REPORT_NAME,
    Section,
    render_report,
    report_order,
    section_title,
    stable_styler_ids,
)
from analysis.resources import code_version, resolve_notebooks_dir  # noqa: E402
from analysis.text import t  # noqa: E402

log = logging.getLogger(__name__)

#: Notebooks a run does without when the notebooks folder has no such file.
OPTIONAL_NOTEBOOKS = frozenset({"05_summary"})
#: Seconds added to every deadline of the watching parent, over the kernel's own timeouts.
GRACE_SECONDS = 60
PACKAGES = ("rfmkit", "pandas", "numpy", "scipy", "scikit-learn", "matplotlib", "papermill", "nbclient", "nbconvert")


@dataclass
class RunSpec:
    """One period × region run: ``region`` is a data region or :data:`~analysis.stages.ALL_REGIONS`; ``batch`` the id
    of the batch that makes it (its staging folder's suffix)."""

    period: str
    region: str
    run_dir: str
    batch: str = ""


@dataclass
class RunResult:
    """What happened to one run."""

    period: str
    region: str
    run_dir: str
    status: str  # ok | failed | skipped
    seconds: float = 0.0  # wall seconds of the whole run in its worker
    cell_seconds: float = 0.0  # the part spent executing notebook cells (the rest is the run's overhead)
    timings: dict[str, float] = field(default_factory=dict)
    error: str = ""
    failed_notebook: str = ""
    failed_cell: int | None = None  # the execution count shown in the executed notebook, In [n]
    reports: list[str] = field(default_factory=list)


@dataclass
class BatchResult:
    """Every run of a batch, the index page and the shared cleaned data."""

    runs: list[RunResult]
    index: Path
    clean_dir: Path
    seconds: float
    #: why a run that had an ok run before ran again ("period/region" -> reason, :func:`rerun_reason`)
    reruns: dict[str, str] = field(default_factory=dict)

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
            where = r.failed_notebook or "(before the first notebook)"
            lines.append(f"  FAILED {r.period}/{region_name(r.region)}: {where}{cell}: {r.error}")
        by_reason: dict[str, list[str]] = {}
        for run, why in self.reruns.items():
            by_reason.setdefault(why, []).append(run)
        for why, runs in by_reason.items():  # which change made runs run again (one line per reason)
            shown = ", ".join(runs[:4]) + (f" and {len(runs) - 4} more" if len(runs) > 4 else "")
            lines.append(f"  ran again ({why}): {shown}")
        return "\n".join(lines)


def git_commit(cwd: Path) -> str | None:
    """The git commit of the working tree, if it is a checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def check_inputs(params: RunParams) -> None:
    """Fail before any kernel starts when the input file, the notebooks or the playbook cannot be used."""
    from analysis.data.io import check_source
    from analysis.strategy.playbook import load_playbook

    check_source(params.source)  # names source.path before anything reads or hashes it

    missing = [
        nb
        for nb in params.notebooks
        if nb != "05_summary" and not (resolve_notebooks_dir(params.notebooks_dir) / f"{nb}.ipynb").exists()
    ]
    if missing:
        raise ParamsError(
            f"notebooks {missing} not found in notebooks_dir {resolve_notebooks_dir(params.notebooks_dir)}; "
            "fix notebooks_dir in the params (leave it out for the notebooks shipped with rfmkit)"
        )
    load_playbook(params.playbook)  # every run computes the strategy: a PlaybookError names the file and each problem


def plan_runs(
    params: RunParams,
    regions_in_data: list[str],
    periods: list[str] | None = None,
    regions: list[str] | None = None,
    batch: str = "",
    reps_in_data: list[str] | None = None,
) -> list[RunSpec]:
    """Every (period, region) run to make, in a stable order.

    ``regions`` (and a list in ``params.regions``) are written as people write them: ``all`` is the all-regions
    run, ``region:all`` a data region literally named ``all`` (:func:`analysis.stages.parse_region`). Each run's
    folder is ``<output_dir>/<period>/<folder>`` (:func:`analysis.batch.naming.region_folder`).

    ``params.reps`` adds one run per sales rep (``rep:<name>``, :func:`analysis.regions.rep_run`) holding the rep's
    customers and deals only; ``all`` is every rep in the data (``reps_in_data``: the log's ``sales_rep`` values).
    """
    months = params.periods.months()
    if periods:
        unknown = sorted(set(periods) - set(months))
        if unknown:
            raise ParamsError(f"period(s) {unknown} are outside the params' range {months[0]}..{months[-1]}")
        months = [m for m in months if m in set(periods)]
    wanted = regions_in_data if params.regions == "all" else [parse_region(r) for r in params.regions]
    wanted = [r for r in wanted if r != ALL_REGIONS]  # 'all' in a list of regions: the all-regions run
    missing = sorted(set(wanted) - set(regions_in_data))
    if missing:
        raise ParamsError(f"region(s) {missing} are not in the data; its regions are {regions_in_data}")
    include_all = params.include_all_regions or not wanted
    if params.regions != "all" and ALL_REGIONS in {parse_region(r) for r in params.regions}:
        include_all = True
    names = ([ALL_REGIONS] if include_all else []) + wanted
    if params.reps is not None:
        known = list(reps_in_data or [])
        reps = known if params.reps == "all" else list(params.reps)
        unknown = sorted(set(reps) - set(known))
        if unknown:
            raise ParamsError(f"rep(s) {unknown} in 'reps' sold nothing in the data; its reps are {known}")
        names += [rep_run(r) for r in reps]
    if regions:
        asked = {parse_region(r) for r in regions}
        bad = sorted(region_name(r) for r in asked - set(names))
        if bad:
            raise ParamsError(
                f"region(s) {bad} not planned; choose among {[region_name(n) for n in names]} "
                f"('all' is all regions together; write a region literally named 'all' as 'region:all')"
            )
        names = [r for r in names if r in asked]
    out = Path(params.output_dir)
    return [RunSpec(m, r, str(out / m / region_slug(r)), batch) for m in months for r in names]


def _reps_in_data(params: RunParams, clean_dir: Path) -> list[str] | None:
    """The sales reps of the cleaned log (its ``sales_rep`` values, sorted) when the params ask for rep reports."""
    if params.reps is None:
        return None
    import pyarrow.parquet as pq

    path = Path(clean_dir) / "clean.parquet"
    if "sales_rep" not in pq.read_schema(path).names:
        raise ParamsError("'reps' asks for one report per sales rep, but the data has no sales_rep column; map one")
    reps = pq.read_table(path, columns=["sales_rep"]).column(0).to_pylist()
    return sorted({str(r) for r in reps if r is not None})


def notebook_timeout(params: RunParams) -> float:
    """Seconds one notebook may run: ``execution.notebook_timeout_seconds``, else 3 × the cell timeout."""
    value = getattr(params.execution, "notebook_timeout_seconds", None)
    return float(value) if value else 3.0 * params.execution.timeout_seconds


def notebooks_of(params: RunParams) -> list[tuple[str, Path]]:
    """The run's notebooks that exist (optional ones may be missing), in execution order."""
    out = []
    for nb in params.notebooks:
        path = resolve_notebooks_dir(params.notebooks_dir) / f"{nb}.ipynb"
        if path.exists() or nb not in OPTIONAL_NOTEBOOKS:
            out.append((nb, path))
    return out


def _notebooks_hash(params: RunParams) -> str:
    h = hashlib.sha256()
    for nb, path in notebooks_of(params):
        h.update(nb.encode())
        h.update(path.read_bytes() if path.exists() else b"missing")
    return h.hexdigest()[:16]


#: Parameters that cannot change any output of a run (how long, how many workers): left out of the fingerprint,
#: so changing them re-runs nothing.
NO_OUTPUT_PARAMS: tuple[tuple[str, str], ...] = (
    ("execution", "timeout_seconds"),
    ("execution", "notebook_timeout_seconds"),
    ("execution", "jobs"),
    ("", "max_regions"),
)


def output_params(params_data: dict[str, Any]) -> dict[str, Any]:
    """``params_data`` without :data:`NO_OUTPUT_PARAMS`: the parameters a run's outputs depend on."""
    out = dict(params_data)
    for section, key in NO_OUTPUT_PARAMS:
        if not section:
            out.pop(key, None)
        elif isinstance(out.get(section), dict):
            out[section] = {k: v for k, v in out[section].items() if k != key}
    return out


def changed_params(before: Any, after: Any, prefix: str = "") -> list[str]:
    """The dotted names of the parameters that differ between two params dumps (``rfm.partial_period``)."""
    if isinstance(before, dict) and isinstance(after, dict):
        out = []
        for k in sorted(set(before) | set(after), key=str):
            out += changed_params(before.get(k), after.get(k), f"{prefix}{k}.")
        return out
    return [] if before == after else [prefix.rstrip(".")]


def rerun_reason(run_dir: str | Path, params_data: dict[str, Any], clean_key: str) -> str:
    """Why a run that has an earlier manifest runs again, in one phrase for the log ("" when it has none)."""
    from analysis.logs import redact_secrets

    m = read_manifest(run_dir)
    if not m:
        return ""
    if m.get("status") != "ok":
        return f"its last run {m.get('status', 'did not finish')}"
    old, new = m.get("params"), redact_secrets(params_data)
    if isinstance(old, dict) and isinstance(new, dict):
        changed = changed_params(output_params(old), output_params(new))
        if changed:
            shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
            return f"parameter{'s' if len(changed) > 1 else ''} changed: {shown}"
    if (m.get("input") or {}).get("clean_sha256") != clean_key:
        return "the cleaned data changed"
    if not (Path(run_dir) / REPORT_NAME).exists():
        return "its report is missing"
    return "the code, the notebooks or the pseudonym key changed"


def _fingerprint(params_data: dict[str, Any], clean_key: str, version: str, spec: RunSpec) -> str:
    """What a run's outputs depend on: its params (without :data:`NO_OUTPUT_PARAMS`), the cleaned data, the code,
    notebooks and pseudonym key (``version``), its period and region."""
    region = region_name(spec.region)
    payload = json.dumps(
        {"params": output_params(params_data), "clean": clean_key, "code": version, "period": spec.period,
         "region": region},
        sort_keys=True,
    )  # fmt: skip
    return hashlib.sha256(payload.encode()).hexdigest()


def staging_dir(run_dir: str | Path, batch: str = "") -> Path:
    """The hidden folder a run is built in before it is moved to ``run_dir``: ``.<folder>.partial-<batch>``."""
    run_dir = Path(run_dir)
    return run_dir.parent / f".{run_dir.name}.partial-{batch or 'nobatch'}"


def new_batch_id() -> str:
    """A batch's id: start time and a random suffix (``20261125T141502-3fa9c1``), unique per batch."""
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


#: The kit's mark in every staging folder it makes (and so in every run folder it publishes): a hidden file holding
#: the batch id. A folder is removed only when it carries this mark, or a manifest of the kit naming its run folder.
RUN_MARK = ".rfmkit-run"
#: The names of the kit's staging and old-run folders: ``.<folder>.partial-<batch>``, ``.<folder>.old-<batch>``.
_KIT_FOLDER = re.compile(r"^\.(?P<run>.+)\.(?:partial|old)-(?P<batch>[0-9A-Za-z]+(?:-[0-9a-f]+)?)$")


def mark_stage(stage: Path, batch: str = "") -> None:
    """Make the staging folder ``stage`` (empty) with the kit's mark (:data:`RUN_MARK`)."""
    stage.mkdir(parents=True, exist_ok=True)
    (stage / RUN_MARK).write_text(f"{batch or 'nobatch'}\n", encoding="utf-8")


def made_by_kit(folder: Path, run_name: str | None = None) -> bool:
    """Whether ``folder`` is provably the kit's: it carries :data:`RUN_MARK`, or a ``manifest.json`` of the kit
    whose ``folder`` is ``run_name`` (a run published before the mark existed)."""
    if (folder / RUN_MARK).is_file():
        return True
    manifest = read_manifest(folder)
    return bool(manifest) and "fingerprint" in manifest and manifest.get("folder") == (run_name or folder.name)


def remove_kit_folder(folder: Path, run_name: str | None = None) -> None:
    """Remove ``folder`` if it is the kit's (:func:`made_by_kit`); one that is not is never deleted: an
    :class:`OSError` naming it says to move it away."""
    if not folder.exists() and not folder.is_symlink():
        return
    if folder.is_symlink() or not folder.is_dir() or not made_by_kit(folder, run_name):
        raise OSError(
            f"{folder} was not written by rfmkit (no {RUN_MARK} mark, no manifest of its run); it is left as it is: "
            "move it out of the output folder"
        )
    shutil.rmtree(folder)


def remove_stale_staging(out_dir: str | Path, keep_batch: str) -> list[Path]:
    """Remove the staging and old-run folders that killed batches left in ``<out_dir>/<period>/`` (call it
    holding the batch lock, so no other batch is writing); returns what was removed. Only folders named like the
    kit's (``.<folder>.partial-<batch>``, ``.<folder>.old-<batch>``) *and* carrying its mark are removed: a user's
    ``.old`` or ``.partial`` folder or file is left alone."""
    removed = []
    for path in sorted(Path(out_dir).glob("*/.*")):
        if path.is_symlink() or not path.is_dir() or path.parent.name.startswith(("_", ".")):
            continue
        name = _KIT_FOLDER.match(path.name)
        if name is None or path.name.endswith(f"-{keep_batch}"):
            continue
        if made_by_kit(path, name.group("run")):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
        else:
            log.info("left %s alone: named like a staging folder, but not written by rfmkit", path)
    if removed:
        log.info("removed %d staging folder(s) left by a killed batch: %s", len(removed), [p.name for p in removed])
    return removed


def publish(stage: Path, run_dir: Path, batch: str = "") -> None:
    """Move a complete staging folder into place (renames only; the old run folder goes last)."""
    old = run_dir.parent / f".{run_dir.name}.old-{batch or 'nobatch'}"
    remove_kit_folder(old, run_dir.name)
    if run_dir.is_dir() and not run_dir.is_symlink() and not any(run_dir.iterdir()):
        run_dir.rmdir()  # an empty folder made by hand: nothing in it to keep
    if run_dir.exists() and not made_by_kit(run_dir):  # never replace (and so delete) a folder of the user's
        raise OSError(f"{run_dir} exists and was not written by rfmkit; move it away or choose another output_dir")
    umask = os.umask(0)
    os.umask(umask)
    for path in stage.rglob("*"):  # temp-file writers create 0600 files; reports are for others to read
        if path.is_file():
            path.chmod(0o666 & ~umask)
    _seal(stage, batch)
    if run_dir.exists():
        os.rename(run_dir, old)
    os.rename(stage, run_dir)
    if old.exists() and _keep_users_files(old, run_dir):
        remove_kit_folder(old, run_dir.name)


def _seal(stage: Path, batch: str = "") -> None:
    """Record in the staging folder's mark every file the kit wrote into it (relative paths, after the batch id), so
    a later batch can tell them from files somebody added to the published run folder."""
    files = sorted(p.relative_to(stage).as_posix() for p in stage.rglob("*") if p.is_file() and p.name != RUN_MARK)
    (stage / RUN_MARK).write_text("\n".join([batch or "nobatch", *files]) + "\n", encoding="utf-8")


def _keep_users_files(old: Path, run_dir: Path) -> bool:
    """Move the files somebody added to the previous run folder ``old`` (not listed in its mark) into the new
    ``run_dir``; True when ``old`` then holds only the kit's files. A file that cannot be moved (the new run has one
    of that name) stays, and ``old`` loses its mark, so no batch ever deletes it (logged)."""
    try:
        listed = (old / RUN_MARK).read_text(encoding="utf-8").splitlines()[1:]
    except OSError:
        listed = []
    if not listed:  # a run published before files were listed: everything in it is the kit's
        return True
    kit = set(listed)
    kept = []
    for path in sorted(old.rglob("*")):
        rel = path.relative_to(old).as_posix()
        if not path.is_file() or path.name == RUN_MARK or rel in kit:
            continue
        target = run_dir / rel
        if target.exists():
            kept.append(rel)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(path, target)
    if kept:
        (old / RUN_MARK).unlink(missing_ok=True)
        log.warning("kept %s: it holds files the kit did not write (%s); move them, then delete it", old, kept[:5])
        return False
    return True


def read_manifest(run_dir: str | Path) -> dict[str, Any]:
    """A run folder's manifest, or ``{}`` when it has none (or an unreadable one)."""
    try:
        return json.loads((Path(run_dir) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def is_unchanged(run_dir: str | Path, fingerprint: str) -> bool:
    """Whether a run folder holds a complete ``ok`` run made from the same inputs."""
    m = read_manifest(run_dir)
    return m.get("status") == "ok" and m.get("fingerprint") == fingerprint and (Path(run_dir) / REPORT_NAME).exists()


def _where(region: str, language: str) -> str:
    if region != ALL_REGIONS:
        return region
    return t("index.all", language)


def _region_entry(value: Any, folder: str) -> str:
    """A manifest's ``region`` (as written, ``all`` for all regions) as a run region; the folder when absent."""
    if value is None:
        return ALL_REGIONS if folder == "all" else folder
    return parse_region(str(value))


def execute_run(
    spec: RunSpec,
    params_data: dict[str, Any],
    clean_dir: str,
    fingerprint: str,
    on_event: Any = None,
    keep_kernel: bool = False,
) -> RunResult:
    """Execute one run's notebooks in a staging folder, render its report, write its manifest, publish it.

    Never raises for a notebook failure: the result (and the manifest) say which notebook and cell
    failed and why. ``on_event(kind, data)`` is passed on to :meth:`analysis.batch.kernels.KernelSession.run`.
    ``keep_kernel``: run in this process's warm kernel (:func:`analysis.batch.kernels.worker_session`, what batch
    workers do) and leave it running for the next run; else in a kernel started and shut down for this run.
    """
    from analysis.batch.kernels import FINISH_STEP, KernelStartError, NotebookJob, execute_notebooks, worker_session
    from analysis.pipeline import RUN_PARAMS, write_run_params

    params = RunParams.model_validate(params_data)
    run_dir = Path(spec.run_dir)
    stage = staging_dir(run_dir, spec.batch)
    remove_kit_folder(stage, run_dir.name)
    mark_stage(stage, spec.batch)
    (stage / "_executed").mkdir(parents=True)
    started = time.perf_counter()
    result = RunResult(spec.period, spec.region, spec.run_dir, "ok")
    # the params as validated once (every flag of rfmkit run applied), handed to the notebooks as data: what the
    # fingerprint describes is what every notebook of the run uses, whatever happens to the YAML meanwhile
    write_run_params(params_data, stage)
    parameters = {  # never the pseudonym key: parameters are written into the executed notebooks
        "params_path": str(stage / RUN_PARAMS),
        "period": spec.period,
        "region": region_name(spec.region),
        "run_dir": str(stage),
        "clean_dir": clean_dir,
    }
    jobs = [NotebookJob(nb, path, stage / "_executed" / f"{nb}.ipynb", parameters) for nb, path in notebooks_of(params)]
    # after the notebooks, the kernel finishes the run: every stage computed, every run file written by its writer
    finish = f"from analysis import context as _rfm_context\n_rfm_context.finish(**{parameters!r})\ndel _rfm_context\n"
    missing = [j for j in jobs if not j.source.exists()]
    outcomes = []
    if missing:
        result.status, result.failed_notebook = "failed", missing[0].name
        result.error = f"notebook not found: {missing[0].source}; check notebooks_dir and notebooks in the params"
    else:
        kernel, cwd = params.execution.kernel, resolve_notebooks_dir(params.notebooks_dir)
        limits = {"cell_timeout": params.execution.timeout_seconds, "notebook_timeout": notebook_timeout(params)}
        hook = on_event or (lambda kind, data: None)
        try:
            if keep_kernel:
                outcomes = worker_session(kernel, cwd).run(jobs, on_event=hook, finish=finish, **limits)
            else:
                outcomes = execute_notebooks(jobs, kernel_name=kernel, cwd=cwd, on_event=hook, finish=finish, **limits)
        except KernelStartError as err:
            result.status, result.failed_notebook, result.error = "failed", jobs[0].name, str(err)
    for o in outcomes:
        result.timings[o.name] = o.seconds
        result.cell_seconds = round(result.cell_seconds + o.cells, 3)
        if not o.ok:
            result.status, result.failed_notebook, result.failed_cell, result.error = "failed", o.name, o.cell, o.error
    if result.error and not params.privacy.show_customer_ids:  # it reaches the banner, the index, the log
        result.error = _without_ids(result.error, clean_dir, params)
    executed = [o.name for o in outcomes if o.name != FINISH_STEP]
    for o in outcomes:  # what the notebooks printed names the final folder, not the staging one
        if o.name == FINISH_STEP:
            continue
        path = stage / "_executed" / f"{o.name}.ipynb"
        text = stable_styler_ids(path.read_text(encoding="utf-8").replace(str(stage), str(run_dir)))
        if result.status == "failed":  # kept and linked from the index: its error and tracebacks as the banner's
            text = _redacted_failure(text, clean_dir, params)
        write_text(text, path)
    if executed:
        if on_event is not None:  # a watching parent names the render step when it fails or hangs there
            on_event("notebook", "render")
        t0 = time.perf_counter()
        lang = params.language
        banner = ""
        if result.status == "failed":
            cell = f", cell {result.failed_cell}" if result.failed_cell is not None else ""
            banner = t("report.failed_banner", lang) + f"{result.failed_notebook}{cell}: {result.error}"
        sections = [
            Section(nb, section_title(nb, lang), stage / "_executed" / f"{nb}.ipynb") for nb in report_order(executed)
        ]
        title = f"{params.title} · {spec.period} · {_where(spec.region, lang)}"
        index_href = os.path.relpath(Path(params.output_dir) / "index.html", run_dir)
        # the cleaned data's quarantine holds every region's rows: linked from the all-regions report only
        files = {"01_cleaning": [Path(clean_dir) / "quarantine.csv"]} if spec.region == ALL_REGIONS else None
        render_report(sections, stage / REPORT_NAME, title, lang, index_href, banner, files)
        result.reports = [REPORT_NAME]
        result.timings["render"] = round(time.perf_counter() - t0, 3)
    result.seconds = round(time.perf_counter() - started, 3)
    _write_manifest(stage, spec, params_data, clean_dir, fingerprint, result)
    publish(stage, run_dir, spec.batch)
    return result


def lost_run(
    spec: RunSpec, params_data: dict[str, Any], clean_dir: str, fingerprint: str, step: str, reason: str
) -> RunResult:
    """Record a run whose worker was killed or died: a failed manifest, published like any run."""
    run_dir = Path(spec.run_dir)
    stage = staging_dir(run_dir, spec.batch)
    mark_stage(stage, spec.batch)
    for leftover in (stage / REPORT_NAME, stage / "manifest.json"):
        leftover.unlink(missing_ok=True)
    result = RunResult(spec.period, spec.region, spec.run_dir, "failed", error=reason, failed_notebook=step)
    _write_manifest(stage, spec, params_data, clean_dir, fingerprint, result)
    publish(stage, run_dir, spec.batch)
    return result


def _without_ids(message: str, clean_dir: str, params: RunParams) -> str:
    """A failed run's error as the report's banner, the index and the log show it: every customer id it quotes
    replaced by its pseudonym (:func:`analysis.privacy.public_message`, the ids of the run's clean data)."""
    from analysis.privacy import public_message

    if "'" not in message and '"' not in message:
        return message
    try:
        import pyarrow.parquet as pq

        ids = pq.read_table(Path(clean_dir) / "clean.parquet", columns=["customer_id"]).column(0).unique()
    except Exception:  # no readable clean data: the message as it is
        return message
    return public_message(message, ids.to_pylist(), params.privacy.key_file)


#: Joins the texts of a notebook redacted together (no quoted literal spans a line, so none spans it).
_JOIN = "\n\x1e\n"


def _redacted_failure(text: str, clean_dir: str, params: RunParams) -> str:
    """A failed run's executed notebook (its JSON ``text``) as kept: the error banner, the error outputs (message
    and traceback) and the warnings (stderr) with every customer id they quote as its pseudonym (unless params
    ``privacy.show_customer_ids``; :func:`_without_ids`, the ids read once) and connection-string secrets redacted,
    as the report's banner and the manifest show the error."""
    from analysis.logs import redact_secrets

    if '"output_type": "error"' not in text and "rfmkit-error" not in text and '"stderr"' not in text:
        return text
    nb = json.loads(text)
    places: list[tuple[dict[str, Any], str, int | None]] = []  # (holder, key, index in a list of lines or None)
    for cell in nb.get("cells", []):
        if "rfmkit-error" in cell.get("metadata", {}).get("tags", []):
            places.append((cell, "source", None))
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                places.append((out, "evalue", None))
                places += [(out, "traceback", i) for i in range(len(out.get("traceback", [])))]
            elif out.get("output_type") == "stream" and out.get("name") == "stderr":
                places.append((out, "text", None))

    def get(holder: dict[str, Any], key: str, i: int | None) -> str:
        value = holder.get(key, "")
        value = value[i] if i is not None else value
        return "".join(value) if isinstance(value, list) else str(value)

    def redacted(message: str) -> str:
        shown = message if params.privacy.show_customer_ids else _without_ids(message, clean_dir, params)
        return str(redact_secrets(shown))

    texts = [get(*place) for place in places]
    parts = redacted(_JOIN.join(texts)).split(_JOIN)
    if len(parts) != len(places):  # a text held the separator itself: each on its own (the ids read again)
        parts = [redacted(one) for one in texts]
    for (holder, key, i), part in zip(places, parts, strict=True):
        if i is None:
            holder[key] = part
        else:
            holder[key][i] = part
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _package_versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    versions: dict[str, str | None] = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = None
    return versions


def _write_manifest(
    run_dir: Path, spec: RunSpec, params_data: dict[str, Any], clean_dir: str, fingerprint: str, result: RunResult
) -> None:
    """Write ``manifest.json``: always the last file of a run (connection-string secrets redacted)."""
    from analysis.logs import redact_secrets

    quality_path = Path(clean_dir) / "quality.json"
    manifest = {
        "period": spec.period,
        "region": region_name(spec.region),  # as written: 'all' for all regions, 'region:all' for a region 'all'
        "folder": Path(spec.run_dir).name,
        "status": result.status,
        "fingerprint": fingerprint,
        "input": {
            "clean_dir": Path(clean_dir).name,
            "clean_sha256": file_sha256(Path(clean_dir) / "clean.parquet"),
            "quality": json.loads(quality_path.read_text(encoding="utf-8")) if quality_path.exists() else None,
        },
        "params": redact_secrets(params_data),  # no password or token of a source URL
        "versions": {**_package_versions(), "python": platform.python_version()},
        "code_version": code_version(),
        "git_commit": git_commit(Path(__file__).parent),
        "timings_seconds": result.timings,
        "seconds": result.seconds,
        "cell_seconds": result.cell_seconds,
        "error": redact_secrets(result.error) or None,
        "failed_notebook": result.failed_notebook or None,
        "failed_cell": result.failed_cell,
        "reports": result.reports,
    }
    write_json(manifest, run_dir / "manifest.json")


def _waves(todo: list[Any], params: RunParams) -> list[list[Any]]:
    """The tasks in the order they may run: all at once, or, when a run measures the actions of an earlier run
    (``experiment.enabled``), one period after another, so each period's runs find the earlier period's
    assignments published."""
    if not params.experiment.enabled:
        return [todo]
    by_period: dict[str, list[Any]] = {}
    for task in todo:
        by_period.setdefault(task.args[0].period, []).append(task)
    return [by_period[p] for p in sorted(by_period)]


def run_batch(
    params_path: str | Path,
    periods: list[str] | None = None,
    regions: list[str] | None = None,
    jobs: int | None = None,
    force: bool = False,
    progress: bool = True,
    allow_large: bool = False,
    wait: bool = True,
) -> BatchResult:
    """Run every planned period × region holding the output folder's batch lock; see the module docstring.

    ``wait``: when another batch holds the folder, wait for it (saying who holds it); ``False`` raises
    :class:`BatchError` naming the holder at once. The other parameters are those of :func:`run_locked`.
    """
    from analysis.batch.lock import batch_lock

    params = load_params(params_path, allow_large=allow_large)  # validated once: the runs use these
    with batch_lock(params.output_dir, wait=wait):
        return run_locked(params_path, periods, regions, jobs, force, progress, allow_large, params=params)


def run_locked(
    params_path: str | Path,
    periods: list[str] | None = None,
    regions: list[str] | None = None,
    jobs: int | None = None,
    force: bool = False,
    progress: bool = True,
    allow_large: bool = False,
    *,
    params: RunParams | None = None,
) -> BatchResult:
    """Run every planned period × region (the caller holds the batch lock); see the module docstring.

    Parameters
    ----------
    params_path : path
        The params file.
    periods, regions : list of str, optional
        Only these periods (``YYYY-MM``) and regions.
    jobs : int, optional
        Runs in parallel (default: ``execution.jobs``, else the number of cores).
    force : bool, default=False
        Re-run runs whose inputs are unchanged.
    progress : bool, default=True
        Show a progress bar.
    allow_large : bool, default=False
        Accept a period range longer than ``periods.max_months`` (and more regions than ``max_regions``).
    params : RunParams, optional
        ``params_path`` as already loaded with these flags (:func:`run_batch`); else it is loaded here. Validated
        once, the params are handed to every run's notebooks as data (:func:`analysis.pipeline.write_run_params`).

    Returns
    -------
    BatchResult
        Every run's result.

    Raises
    ------
    BatchError
        After writing the index, if any run failed; the message names the notebook, the cell and
        the error of each failure.
    """
    from analysis.batch.owner import claim_output_dir
    from analysis.batch.pool import Task, run_supervised
    from analysis.privacy import key_id, load_key

    started = time.perf_counter()
    params_path = str(Path(params_path).resolve())
    params = params or load_params(params_path, allow_large=allow_large)
    check_inputs(params)
    claim_output_dir(params, params_path)  # another params file's runs are never overwritten (batch.owner)
    key = load_key(params.privacy.key_file)  # made now if missing, so the kernels all find the same key
    raw = " (reports show raw ids: privacy.show_customer_ids)" if params.privacy.show_customer_ids else ""
    log.info("customer pseudonyms keyed from %s%s", key.source, raw)
    params_data = dump_params(params)
    batch = new_batch_id()
    remove_stale_staging(params.output_dir, batch)
    from analysis.engines.spark_clean import source_cleaner

    clean_dir, regions_in_data = prepare_clean(params, force=force, clean=source_cleaner(params))  # Spark: executors
    clean_hash = file_sha256(clean_dir / "clean.parquet")  # runs re-run when the clean data change, not its folder
    if not regions:  # regions: all on hundreds of stores plans a run per store and month: stop before any run
        params.check_regions(regions_in_data, allow_large, origin=str(params_path))
    specs = plan_runs(params, regions_in_data, periods, regions, batch, reps_in_data=_reps_in_data(params, clean_dir))
    # a new pseudonym key re-runs reports (their pseudonyms change); key_id reveals nothing of the key
    version = f"{code_version()}-{_notebooks_hash(params)}-{key_id(key)}"
    results: list[RunResult] = []
    reruns: dict[str, str] = {}
    todo: list[Task] = []
    nb_seconds = notebook_timeout(params) + GRACE_SECONDS
    for s in specs:
        fp = _fingerprint(params_data, clean_hash, version, s)
        if not force and is_unchanged(s.run_dir, fp):
            name = region_name(s.region)
            log.info("run %s/%s skipped: unchanged since its last ok run (--force re-runs it)", s.period, name)
            results.append(RunResult(s.period, s.region, s.run_dir, "skipped", reports=[REPORT_NAME]))
            continue
        why = "" if force else rerun_reason(s.run_dir, params_data, clean_hash)
        if why:
            log.info("run %s/%s runs again: %s", s.period, region_name(s.region), why)
            reruns[f"{s.period}/{region_name(s.region)}"] = why
        args = (s, params_data, str(clean_dir), fp)  # the params as validated once; the notebooks get them as data
        task_key = f"{s.period}/{region_name(s.region)}"
        todo.append(Task(task_key, args, start_seconds=2 * 60 + GRACE_SECONDS, step_seconds=nb_seconds))
    bar = None
    if progress and todo:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc="runs", unit="run")

    def done(task: Task, result: RunResult) -> None:
        timings = ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items())
        if result.status == "failed":
            where = f"{result.failed_notebook or '(before the first notebook)'}"
            cell = f", cell {result.failed_cell}" if result.failed_cell is not None else ""
            log.warning("run %s failed after %.1f s at %s%s: %s", task.key, result.seconds, where, cell, result.error)
        else:
            log.info("run %s ok in %.1f s (%s)", task.key, result.seconds, timings)
        results.append(result)
        if bar:
            bar.update()

    def lost(task: Task, step: str, reason: str) -> None:
        s, data, cdir, fp = task.args
        from analysis.logs import redact_secrets

        try:
            result = lost_run(s, data, cdir, fp, step, reason)
        except OSError as err:  # not even its failure can be written (read-only folder, full disk): still a failed run
            why = f"{reason}; the run folder cannot be written ({err.strerror or err}: {err.filename or s.run_dir})"
            result = RunResult(s.period, s.region, s.run_dir, "failed", error=redact_secrets(why), failed_notebook=step)
        done(task, result)

    if todo:
        n = jobs or params.execution.jobs or os.cpu_count() or 1
        for wave in _waves(todo, params):
            run_supervised(partial(execute_run, keep_kernel=True), wave, min(n, len(wave)), done, lost)
    if bar:
        bar.close()
    results.sort(key=lambda r: (r.period, region_name(r.region)))
    index = _write_index(params, results)
    outcome = BatchResult(results, index, clean_dir, round(time.perf_counter() - started, 3), reruns)
    log.info(
        "batch %s of %d runs done in %.1f s (%d ran, %d failed, %d skipped) with %d worker(s)",
        batch,
        len(results),
        outcome.seconds,
        len(todo),
        len(outcome.failed),
        len(results) - len(todo),
        min(jobs or params.execution.jobs or os.cpu_count() or 1, max(len(todo), 1)),
    )
    if outcome.failed:
        raise BatchError(outcome.summary())
    return outcome


def _write_index(params: RunParams, results: list[RunResult]) -> Path:
    """Index every complete run folder under ``output_dir`` (this batch's and earlier ones)."""
    out = Path(params.output_dir).resolve()
    this_batch = {Path(r.run_dir).resolve(): r for r in results}
    entries = []
    listed: set[Path] = set()
    for manifest_path in sorted(out.glob("*/*/manifest.json")):
        run_dir = manifest_path.parent
        if run_dir.name.startswith(".") or run_dir.parent.name.startswith(("_", ".")):
            continue  # staging folders and shared data
        m = read_manifest(run_dir)
        if not m:
            continue
        status = m.get("status", "unknown")
        mine = this_batch.get(run_dir.resolve())
        if mine is not None and mine.status == "skipped":
            status = "skipped"
        headline_path = run_dir / "headline.json"
        try:
            headline = json.loads(headline_path.read_text(encoding="utf-8")) if headline_path.exists() else {}
        except ValueError:
            headline = {}
        listed.add(run_dir.resolve())
        rel = os.path.relpath(run_dir, out)
        report = f"{rel}/{REPORT_NAME}" if (run_dir / REPORT_NAME).exists() else None
        failed_nb = m.get("failed_notebook") or ""
        executed_nb = run_dir / "_executed" / f"{failed_nb}.ipynb"
        executed = f"{rel}/_executed/{failed_nb}.ipynb" if failed_nb and executed_nb.exists() else None
        entries.append(
            RunEntry(
                m.get("period", run_dir.parent.name),
                _region_entry(m.get("region"), run_dir.name),
                status,
                report,
                executed,
                headline,
                m.get("error") or "",
                failed_nb,
                m.get("failed_cell"),
            )
        )
    for r in results:  # a run of this batch whose folder could not be written is on the index all the same
        if r.status == "failed" and Path(r.run_dir).resolve() not in listed:
            entries.append(
                RunEntry(r.period, r.region, "failed", None, None, {}, r.error or "", r.failed_notebook or "", None)
            )
    return write_index(out, params.title, entries, params.currency, params.language)
