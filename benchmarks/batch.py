"""Benchmark the batch: ``rfmkit run`` against the naive loop with the same parallelism, in interleaved rounds.

The naive way: for each period × region, one after another for its notebooks, ``papermill`` executes the notebook
(a kernel started, the imports paid, per notebook) and ``jupyter nbconvert --to html --no-input`` renders it; the
period × region runs go ``JOBS`` at a time through ``xargs -P JOBS``, as ``rfmkit run --jobs JOBS`` does. Both read
the same cleaned data (cleaned once before timing starts), so the comparison is about executing and rendering.

Each round times, in alternating order, ``rfmkit run --force`` (every run re-made) and the naive loop, then an
unchanged ``rfmkit run`` (every run skipped). CPU seconds are user + system of all child processes
(``getrusage(RUSAGE_CHILDREN)``: the batch's workers and kernels, papermill's and nbconvert's processes); wall seconds
are distorted by the machine's other load, which is printed with the machine. Reported: medians over the rounds and
the naive ÷ rfmkit ratios, and rfmkit's per-run overhead: a run's wall time in its worker minus the time its notebook
cells executed (both from the runs' manifests), averaged over the runs.

Defaults (the settings the README quotes): 1 month (2024-12) × 4 regions = 4 runs of 5 notebooks, 1,000 customers
in the sample (seed 42), ``--jobs 2`` (each worker makes one run in a fresh kernel and one in its warm kernel),
3 rounds: about 40 minutes on 2 cores shared with other work. The naive loop costs 1-2 CPU minutes per run, so
12 months × 4 regions (``--months 12``, the issue's setting) takes ~4 CPU hours for 3 rounds.

The code measured is this checkout's (``PYTHONPATH`` is set to it for every child, kernels included), so edits to
another checkout during the hours a run takes do not change what is measured.

Usage::

    python benchmarks/batch.py                                  # the defaults above
    python benchmarks/batch.py --months 1 --regions 2 --rounds 1 --customers 1000   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's analysis, not an installed one

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
REGIONS = ["East", "North", "South", "West"]


def write_params(tmp: Path, months: list[str], regions: list[str], customers: int, jobs: int, seed: int) -> Path:
    data = {
        "title": "Benchmark",
        "source": {"format": "sample", "sample": {"customers": customers, "seed": seed}},
        "periods": {"start": months[0], "end": months[-1]},
        "regions": regions,
        "include_all_regions": False,
        "playbook": str(ROOT / "analysis" / "strategy" / "playbook.yaml"),
        "notebooks_dir": str(ROOT / "notebooks"),
        "output_dir": str(tmp / "reports"),
        "execution": {"jobs": jobs, "timeout_seconds": 1200},
    }
    path = tmp / "bench.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


def naive_scripts(params: Path, clean_dir: Path, out: Path, months: list[str], regions: list[str]) -> list[Path]:
    """One shell script per period × region: papermill then nbconvert, notebook after notebook."""
    from analysis.params import load_params

    notebooks = [n for n in load_params(params).notebooks if (ROOT / "notebooks" / f"{n}.ipynb").exists()]
    scripts = []
    for m in months:
        for r in regions:
            run = out / m / r
            lines = ["set -e", f"mkdir -p {shlex.quote(str(run))}"]
            for nb in notebooks:
                src, dst = ROOT / "notebooks" / f"{nb}.ipynb", run / f"{nb}.ipynb"
                lines.append(
                    f"{BIN / 'papermill'} -k python3 --cwd {ROOT / 'notebooks'} --no-progress-bar "
                    f"{src} {dst} -p params_path {params} -p period {m} -p region {r} "
                    f"-p run_dir {run} -p clean_dir {clean_dir} >/dev/null 2>&1"
                )
                lines.append(f"{BIN / 'jupyter'} nbconvert --to html --no-input {dst} >/dev/null 2>&1")
            script = out / f"run-{m}-{r}.sh"
            script.parent.mkdir(parents=True, exist_ok=True)
            script.write_text("\n".join(lines) + "\n")
            scripts.append(script)
    return scripts


def timed(cmd: list[str], stdin: str | None = None) -> tuple[float, float]:
    """Run ``cmd`` to completion; (CPU seconds of it and its descendants, wall seconds). Fails loudly."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    res = subprocess.run(cmd, cwd=ROOT, input=stdin, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if res.returncode != 0:
        raise SystemExit(f"{cmd[:3]} failed ({res.returncode}):\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def machine() -> str:
    def first(path: str, key: str) -> str:
        try:
            return next((line for line in Path(path).read_text().splitlines() if line.startswith(key)), "")
        except OSError:
            return ""

    cpu = first("/proc/cpuinfo", "model name").split(":", 1)[-1].strip() or platform.processor()
    mem = first("/proc/meminfo", "MemTotal").split(":", 1)[-1].strip()
    return f"{platform.platform()}; {os.cpu_count()} cores ({cpu}); RAM {mem}; Python {platform.python_version()}"


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def overhead(reports: Path) -> tuple[float, float, int]:
    """Mean over the runs' manifests of (run wall s − its cells' wall s), mean run wall s, and the number of runs."""
    manifests = [json.loads(p.read_text()) for p in sorted(reports.glob("*/*/manifest.json"))]
    ok = [m for m in manifests if m.get("status") == "ok"]
    if len(ok) != len(manifests) or not ok:
        raise SystemExit(f"rfmkit run: {len(manifests) - len(ok)} of {len(manifests)} runs not ok")
    over = [m["seconds"] - m.get("cell_seconds", 0.0) for m in ok]
    return statistics.fmean(over), statistics.fmean(m["seconds"] for m in ok), len(ok)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--months", type=int, default=1, help="months ending 2024-12 (default 1)")
    ap.add_argument("--regions", type=int, default=4, help="regions of the sample, 1-4 (default 4)")
    ap.add_argument("--customers", type=int, default=1000, help="customers in the sample (default 1000)")
    ap.add_argument("--seed", type=int, default=42, help="seed of the sample (default 42)")
    ap.add_argument("--jobs", type=int, default=2, help="runs in parallel, both sides (default 2)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    args = ap.parse_args()

    from analysis.data.store import prepare_clean
    from analysis.params import load_params

    months = [str(p) for p in pd.period_range(end="2024-12", periods=args.months, freq="M")]
    regions = REGIONS[: args.regions]
    print(f"machine: {machine()}")
    print(f"load average (1/5/15 min) at start: {load()}")
    with tempfile.TemporaryDirectory(prefix="rfm-bench-") as d:
        tmp = Path(d)
        params = write_params(tmp, months, regions, args.customers, args.jobs, args.seed)
        clean_dir, in_data = prepare_clean(load_params(params))  # shared by both sides, outside the timing
        regions = [r for r in regions if r in in_data]
        runs = len(months) * len(regions)
        rfmkit = [str(BIN / "rfmkit"), "run", str(params), "--no-progress", "--jobs", str(args.jobs)]
        results: dict[str, list[tuple[float, float]]] = {"naive": [], "rfmkit": [], "unchanged": []}
        overheads: list[tuple[float, float]] = []

        def ours() -> None:
            results["rfmkit"].append(timed([*rfmkit, "--force"]))
            over, mean_run, n = overhead(tmp / "reports")
            assert n == runs, f"{n} run manifests, expected {runs}"
            overheads.append((over, mean_run))
            results["unchanged"].append(timed(rfmkit))

        def naive(r: int) -> None:
            out = tmp / f"naive-{r}"
            scripts = naive_scripts(params, clean_dir, out, months, regions)
            listing = "".join(f"{s}\n" for s in scripts)
            results["naive"].append(timed(["xargs", "-P", str(args.jobs), "-n", "1", "bash"], stdin=listing))
            made = len(list(out.glob("*/*/*.html")))
            assert made == runs * 5, f"naive loop made {made} HTML files, expected {runs * 5}"
            shutil.rmtree(out)

        for r in range(args.rounds):
            order: list[tuple[str, Callable[[], None]]] = [("rfmkit", ours), ("naive", lambda r=r: naive(r))]
            for name, step in order if r % 2 == 0 else order[::-1]:
                step()
                cpu, wall = results[name][-1]
                print(f"round {r + 1} {name}: CPU {cpu:.1f} s, wall {wall:.1f} s (load {load()})", flush=True)

    def med(name: str, i: int) -> float:
        return statistics.median(x[i] for x in results[name])

    print(
        f"\n{len(months)} months ({months[0]}..{months[-1]}) × {len(regions)} regions = {runs} runs of 5 notebooks, "
        f"{args.customers:,} customers, --jobs {args.jobs}, medians of {args.rounds} interleaved rounds; "
        f"load average at the end {load()}\n"
    )
    print("| contender | CPU s | wall s | CPU s per run | naive ÷ this, CPU | naive ÷ this, wall |")
    print("|---|---:|---:|---:|---:|---:|")
    rows = [
        (f"naive loop: papermill + nbconvert per notebook, `xargs -P {args.jobs}`", "naive"),
        (f"`rfmkit run --force --jobs {args.jobs}`", "rfmkit"),
        ("`rfmkit run`, unchanged (every run skipped)", "unchanged"),
    ]
    for label, name in rows:
        cpu, wall = med(name, 0), med(name, 1)
        ratios = f"{med('naive', 0) / cpu:.2f}× | {med('naive', 1) / wall:.2f}×" if name == "rfmkit" else "— | —"
        print(f"| {label} | {cpu:.1f} | {wall:.1f} | {cpu / runs:.1f} | {ratios} |")
    over = statistics.median(o for o, _ in overheads)
    mean_run = statistics.median(m for _, m in overheads)
    print(
        f"\nrfmkit per-run overhead (a run's wall time in its worker minus its notebook cells', mean over runs, "
        f"median over rounds): {over:.2f} s of {mean_run:.1f} s per run (goal ≤ 3 s)"
    )
    print(f"CPU ratio naive ÷ rfmkit: {med('naive', 0) / med('rfmkit', 0):.2f}× (goal ≥ 4×)")


if __name__ == "__main__":
    main()
