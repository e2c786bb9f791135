"""Benchmark the batch: ``rfmkit run`` against the naive loop, and an unchanged re-run.

The naive way is a shell loop that, for each period × region and each notebook, one after another,
calls ``papermill`` and then ``jupyter nbconvert --to html --no-input``. Both read the same cleaned
data (cleaned once before timing starts), so the comparison is about executing and rendering.

Usage::

    python benchmarks/batch.py                          # 12 months x 4 regions; naive loop on 2 months, scaled
    python benchmarks/batch.py --months 2 --regions 2 --naive-months 2 --customers 5000

The naive loop is slow (minutes per month); ``--naive-months k`` times it on the first ``k`` months and
scales the time by ``months / k`` (said so in the output).
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


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


def naive_script(params: Path, clean_dir: Path, out: Path, months: list[str], regions: list[str]) -> str:
    from analysis.params import load_params

    notebooks = [n for n in load_params(params).notebooks if (ROOT / "notebooks" / f"{n}.ipynb").exists()]
    lines = ["set -e"]
    for m in months:
        for r in regions:
            run = out / m / r
            lines.append(f"mkdir -p {shlex.quote(str(run))}")
            for nb in notebooks:
                src, dst = ROOT / "notebooks" / f"{nb}.ipynb", run / f"{nb}.ipynb"
                lines.append(
                    f"{BIN / 'papermill'} -k python3 --cwd {ROOT / 'notebooks'} --no-progress-bar "
                    f"{src} {dst} -p params_path {params} -p period {m} -p region {r} "
                    f"-p run_dir {run} -p clean_dir {clean_dir} >/dev/null 2>&1"
                )
                lines.append(f"{BIN / 'jupyter'} nbconvert --to html --no-input {dst} >/dev/null 2>&1")
    return "\n".join(lines)


def _start_one(transport: str) -> tuple[bool, float]:
    """Start one kernel in this process and wait until it answers; (ok, seconds)."""
    import asyncio

    from jupyter_client.manager import AsyncKernelManager

    async def go() -> tuple[bool, float]:
        t0 = time.perf_counter()
        kw = {"ip": os.path.join(tempfile.mkdtemp(prefix="rfm-"), "k")} if transport == "ipc" else {}
        km = AsyncKernelManager(kernel_name="python3", transport=transport, **kw)
        try:
            await km.start_kernel()
            kc = km.client()
            kc.start_channels()
            await kc.wait_for_ready(timeout=30)
            kc.stop_channels()
            return True, time.perf_counter() - t0
        except Exception:
            return False, time.perf_counter() - t0
        finally:
            if km.has_kernel:
                await km.shutdown_kernel(now=True)

    return asyncio.run(go())


def kernel_starts(n: int, rounds: int) -> None:
    """Start ``n`` kernels at once from ``n`` processes (as parallel papermill calls do), over TCP and IPC."""
    from concurrent.futures import ProcessPoolExecutor

    print(f"\n{rounds} rounds of {n} kernels started at once, one per process\n")
    print("| transport | starts | failed | mean start (s) | max start (s) |")
    print("|---|---:|---:|---:|---:|")
    for transport in ("tcp", "ipc"):
        results: list[tuple[bool, float]] = []
        with ProcessPoolExecutor(n) as pool:
            for _ in range(rounds):
                results += list(pool.map(_start_one, [transport] * n))
        ok = [s for good, s in results if good]
        mean = sum(ok) / len(ok) if ok else float("nan")
        print(f"| {transport} | {len(results)} | {len(results) - len(ok)} | {mean:.2f} | {max(ok, default=0):.2f} |")


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"{cmd[:3]} failed ({res.returncode}):\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--months", type=int, default=12, help="months ending 2024-12 (default 12)")
    ap.add_argument("--regions", type=int, default=4, help="regions of the sample, 1-4 (default 4)")
    ap.add_argument("--naive-months", type=int, default=2, help="months the naive loop is timed on, then scaled")
    ap.add_argument("--customers", type=int, default=20000, help="customers in the sample (default 20000)")
    ap.add_argument("--seed", type=int, default=42, help="seed of the sample (default 42)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="parallel runs of rfmkit (default: cores)")
    ap.add_argument("--kernel-starts", type=int, default=0, help="only measure N simultaneous kernel starts")
    args = ap.parse_args()
    if args.kernel_starts:
        kernel_starts(args.kernel_starts, rounds=5)
        return

    from analysis.batch.runner import prepare_clean
    from analysis.params import load_params

    months = [str(p) for p in pd.period_range(end="2024-12", periods=args.months, freq="M")]
    all_regions = ["East", "North", "South", "West"]
    regions = all_regions[: args.regions]
    naive_months = months[-min(args.naive_months, args.months) :]
    with tempfile.TemporaryDirectory(prefix="rfm-bench-") as d:
        tmp = Path(d)
        params = write_params(tmp, months, regions, args.customers, args.jobs, args.seed)
        t0 = time.perf_counter()
        clean_dir, in_data = prepare_clean(load_params(params))
        clean_s = time.perf_counter() - t0
        regions = [r for r in regions if r in in_data]
        runs = len(months) * len(regions)

        rfmkit = [str(BIN / "rfmkit"), "run", str(params), "--no-progress"]
        ours = timed(rfmkit)
        rerun = timed(rfmkit)

        script = tmp / "naive.sh"
        script.write_text(naive_script(params, clean_dir, tmp / "naive", naive_months, regions))
        naive_part = timed(["bash", str(script)])
        naive = naive_part * len(months) / len(naive_months)

    scaled = (
        ""
        if len(naive_months) == len(months)
        else f" (timed on {len(naive_months)} months, scaled ×{len(months) / len(naive_months):g})"
    )
    rows = [
        ("cleaning (once, shared by both)", clean_s),
        (f"naive loop: papermill + nbconvert per notebook, sequential{scaled}", naive),
        (f"rfmkit run --jobs {args.jobs}", ours),
        ("rfmkit run, unchanged re-run", rerun),
    ]
    print(
        f"\n{len(months)} months × {len(regions)} regions = {runs} runs, {args.customers:,} customers, "
        f"{os.cpu_count()} cores\n"
    )
    print("| step | wall time (s) | per run (s) |")
    print("|---|---:|---:|")
    for name, s in rows:
        per = f"{s / runs:.1f}" if "re-run" not in name and "cleaning" not in name else ""
        print(f"| {name} | {s:.1f} | {per} |")
    print(
        f"\nspeed-up over the naive loop: {naive / ours:.1f}× (goal ≥ 3×); unchanged re-run {rerun:.1f} s (goal ≤ 5 s)"
    )


if __name__ == "__main__":
    main()
