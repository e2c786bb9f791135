"""Benchmark: rfmkit's CLV fits against lifetimes 0.11.3 used as its documentation recommends.

Cases: the CDNOW sample (2,357 customers), a simulated ~25k-customer transaction log and a
simulated 1,000,000-customer summary (day-resolution times, as any summary built from a log;
``--quick`` skips it). For each case both libraries fit BG/NBD, Gamma-Gamma and Pareto/NBD and
compute the CLV of every customer (BG/NBD + Gamma-Gamma).

lifetimes is used at its best: ``fit(..., weights=)`` on the distinct (frequency, recency, T) rows
(distinct (frequency, monetary_value) rows for Gamma-Gamma; the grouping is timed, as the user pays
it), and ``customer_lifetime_value`` on the distinct (frequency, recency, T, monetary_value) rows.
rfmkit groups the customers once (:class:`analysis.clv.distinct.DistinctSummary`: the distinct
(x, t_x, T) histories with their counts and each customer's row, and the repeat customers' (x,
monetary_value) spends, which Gamma-Gamma's fit reduces to distinct totals itself) and shares that
grouping between the BG/NBD fit, the Gamma-Gamma fit and the CLV; the grouping is timed as its own
step ("grouping") and counted in rfmkit's BG+GG+CLV total. Pareto/NBD is fitted on the summary as it is.
Only the grouping, fitting and CLV steps are timed (CPU seconds of the process, ``time.process_time``,
and wall seconds), not imports or reading the CSV; every fit runs in its own child process with
single-threaded BLAS. Rounds are interleaved (each round runs every
case, task and library once, alternating which library goes first); the tables show medians over
the rounds, the ratios lifetimes ÷ rfmkit of the CPU medians, and the machine and its load average.

lifetimes needs old pins (pandas<2, numpy<1.24, scipy<1.12): the script creates a virtual
environment for it under ``~/.cache/rfmkit/bench-lifetimes`` (or ``--lifetimes-venv``) on first
use, says so, and exchanges data with it through CSV files.

Defaults (what docs/benchmarks.md quotes): the three cases, 3 rounds, lifetimes timeout 480 s per fit.

Usage::

    python benchmarks/clv_fit.py [--quick] [--rounds 3] [--no-lifetimes] [--timeout 480]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DEFAULT_VENV = Path.home() / ".cache" / "rfmkit" / "bench-lifetimes"
LIFETIMES_PINS = ["lifetimes==0.11.3", "pandas<2", "numpy<1.24", "scipy<1.12"]
SINGLE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}

LIFETIMES_WORKER = textwrap.dedent(
    """
    import json, sys, time, warnings
    warnings.filterwarnings("ignore")
    import pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter
    path, task = sys.argv[1], sys.argv[2]
    d = pd.read_csv(path)
    d["monetary_value"] = d["monetary_value"].fillna(0.0)
    out = {}

    def clock():
        return time.process_time(), time.perf_counter()

    def lap(name, start):
        out[name + "_cpu"] = time.process_time() - start[0]
        out[name + "_s"] = time.perf_counter() - start[1]

    if task == "bg_gg_clv":
        t = clock()
        g = d.groupby(["frequency", "t_x", "T"]).size().rename("w").reset_index()
        bgf = BetaGeoFitter().fit(g["frequency"], g["t_x"], g["T"], weights=g["w"])
        lap("bgnbd", t)
        out["bgnbd"] = bgf.params_.to_dict()
        out["n_unique"] = len(g)
        t = clock()
        rep = d[d["frequency"] > 0]
        gm = rep.groupby(["frequency", "monetary_value"]).size().rename("w").reset_index()
        ggf = GammaGammaFitter().fit(gm["frequency"], gm["monetary_value"], weights=gm["w"])
        lap("gg", t)
        out["gamma_gamma"] = ggf.params_.to_dict()
        t = clock()
        u = d.groupby(["frequency", "t_x", "T", "monetary_value"]).size().rename("w").reset_index()
        clv = ggf.customer_lifetime_value(bgf, u["frequency"], u["t_x"], u["T"], u["monetary_value"],
                                          time=12, discount_rate=0.01, freq="W")
        out["clv_sum"] = float((clv.to_numpy() * u["w"].to_numpy()).sum())
        lap("clv", t)
    else:
        t = clock()
        g = d.groupby(["frequency", "t_x", "T"]).size().rename("w").reset_index()
        pnf = ParetoNBDFitter().fit(g["frequency"], g["t_x"], g["T"], weights=g["w"])
        lap("pareto", t)
        out["pareto_nbd"] = pnf.params_.to_dict()
    with open("/proc/self/status") as fh:
        out["peak_mb"] = next(int(l.split()[1]) for l in fh if l.startswith("VmHWM")) / 1024
    print(json.dumps(out))
    """
)


def ours_worker(path: str, task: str) -> dict:
    """Fit rfmkit's models on the summary CSV at ``path`` (run in a child process)."""
    from analysis.clv.bgnbd import BGNBD
    from analysis.clv.distinct import DistinctSummary
    from analysis.clv.gamma_gamma import GammaGamma
    from analysis.clv.pareto_nbd import ParetoNBD
    from analysis.clv.value import customer_lifetime_value, discount_rate_per_unit

    d = pd.read_csv(path)
    d.attrs["time_unit"] = "W"
    out: dict = {}

    def clock() -> tuple[float, float]:
        return time.process_time(), time.perf_counter()

    def lap(name: str, start: tuple[float, float]) -> None:
        out[name + "_cpu"] = time.process_time() - start[0]
        out[name + "_s"] = time.perf_counter() - start[1]

    if task == "bg_gg_clv":
        t = clock()
        rows = DistinctSummary.from_summary(d)  # grouped once, shared by both fits and the CLV
        lap("group", t)
        t = clock()
        bg = BGNBD().fit(rows)
        lap("bgnbd", t)
        out["bgnbd"] = bg.params_.to_dict()
        out["n_unique"] = bg.n_unique_
        t = clock()
        gg = GammaGamma().fit(rows)
        lap("gg", t)
        out["gamma_gamma"] = gg.params_.to_dict()
        t = clock()
        clv = customer_lifetime_value(bg, gg, rows, horizon=52, discount_rate=discount_rate_per_unit(0.1, "W"))
        lap("clv", t)
        out["clv_sum"] = float(clv.sum())
    else:
        t = clock()
        pn = ParetoNBD().fit(d)
        lap("pareto", t)
        out["pareto_nbd"] = pn.params_.to_dict()
    out["peak_mb"] = peak_rss_mb()
    return out


def peak_rss_mb() -> float:
    """Peak resident memory of this process (VmHWM, reset at exec unlike ru_maxrss), in MiB."""
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM")) / 1024


def ensure_lifetimes_venv(venv: Path) -> Path:
    """Create the lifetimes virtual environment on first use; return its python."""
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import lifetimes, pandas; assert lifetimes.__version__ == '0.11.3'"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    print(f"creating a virtual environment for lifetimes 0.11.3 in {venv} (pins: {' '.join(LIFETIMES_PINS)})")
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *LIFETIMES_PINS], check=True)
    return python


def run_child(cmd: list[str], timeout: float) -> dict:
    env = os.environ | SINGLE_THREAD | {"PYTHONPATH": str(REPO)}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"timeout": timeout}
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- inputs
def cdnow_summary() -> pd.DataFrame:
    from analysis.clv.summary import summary_from_transactions
    from analysis.datasets import load_cdnow_transactions

    return summary_from_transactions(load_cdnow_transactions(), "1997-09-30", time_unit="W")


def log_summary(n: int) -> tuple[pd.DataFrame, float, int]:
    from analysis.clv.simulate import simulate_transaction_log
    from analysis.clv.summary import summary_from_transactions

    log = simulate_transaction_log(n, start="2023-01-01", end="2024-06-30", seed=1)
    t = time.perf_counter()
    summary = summary_from_transactions(log, "2023-09-30", time_unit="W")
    return summary, time.perf_counter() - t, len(log)


def large_summary(n: int, seed: int = 2) -> pd.DataFrame:
    """BG/NBD + Gamma-Gamma customers acquired over 12 weeks, observed to a 39-week calibration end,
    with t_x and T in whole days (divided by 7), like a summary built from a log."""
    from analysis.clv.simulate import simulate_bgnbd_summary

    rng = np.random.default_rng(seed)
    T_days = 273 - rng.integers(0, 84, size=n)
    s = simulate_bgnbd_summary(n, 0.243, 4.414, 0.793, 2.426, T=T_days / 7, seed=seed)
    rep = s["frequency"].to_numpy() > 0
    tx_days = np.where(rep, np.minimum(np.ceil(s["t_x"].to_numpy() * 7), T_days), 0)
    s["t_x"] = tx_days / 7
    s["T"] = T_days / 7
    x = s["frequency"].to_numpy()
    nu = rng.gamma(3.74, 1 / 15.44, size=n)
    m = np.full(n, np.nan)
    m[rep] = np.round(rng.gamma(6.25 * x[rep], 1 / (nu[rep] * x[rep])), 2)
    s["monetary_value"] = m
    return s


# ----------------------------------------------------------------------------- report
BG_KEYS = ("group", "bgnbd", "gg", "clv")
#: Steps a library may not have as a step of its own (lifetimes groups inside each fit): counted when present.
OPTIONAL_KEYS = ("group",)


def max_rel_diff(a: dict | None, b: dict | None) -> float:
    if not a or not b:
        return float("nan")
    return max(abs(a[k] - b[k]) / abs(b[k]) for k in a)


def median_of(runs: list[dict], keys: tuple[str, ...], unit: str) -> float | None:
    """Median over rounds of the sum of ``keys`` (``unit`` 'cpu' or 's'); None when a run failed."""
    vals = []
    for r in runs:
        if any(f"{k}_{unit}" not in r for k in keys if k not in OPTIONAL_KEYS):
            return None
        vals.append(sum(r.get(f"{k}_{unit}", 0.0) for k in keys))
    return statistics.median(vals) if vals else None


def cell(ours: float | None, theirs: float | None, runs: list[dict]) -> str:
    def f(x: float | None, rs: list[dict]) -> str:
        if x is not None:
            return f"{x:.2f}"
        bad = next((r for r in rs if "timeout" in r or "error" in r), {})
        return f">{bad['timeout']:.0f}" if "timeout" in bad else "error"

    return f"{f(ours, [])} / {f(theirs, runs)}"


def ratio(ours: float | None, theirs: float | None, runs: list[dict]) -> str:
    if not ours:
        return "n/a"
    if theirs is None:
        bad = next((r for r in runs if "timeout" in r), None)
        return f">{bad['timeout'] / ours:.0f}x" if bad else "n/a"
    return f"{theirs / ours:.1f}x"


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def machine() -> str:
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "?")
    except OSError:
        pass
    return f"{platform.platform()}; {os.cpu_count()} cores ({cpu}); Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="skip the 1,000,000-customer case")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--no-lifetimes", action="store_true", help="time rfmkit only")
    parser.add_argument("--lifetimes-venv", type=Path, default=DEFAULT_VENV)
    parser.add_argument("--timeout", type=float, default=480.0, help="seconds per lifetimes fit (default 480)")
    parser.add_argument("--n-log", type=int, default=25_000)
    parser.add_argument("--n-large", type=int, default=1_000_000)
    parser.add_argument("--worker", nargs=2, metavar=("CSV", "TASK"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(ours_worker(*args.worker)))
        return
    print(f"machine: {machine()}; load average (1/5/15 min) {load()}")
    lt_python = None if args.no_lifetimes else ensure_lifetimes_venv(args.lifetimes_venv)
    work = Path(tempfile.mkdtemp(prefix="rfmkit-bench-"))
    lt_script = work / "lifetimes_worker.py"
    lt_script.write_text(LIFETIMES_WORKER)

    cases: list[tuple[str, pd.DataFrame]] = [("CDNOW sample", cdnow_summary())]
    summary, t_sum, n_rows = log_summary(args.n_log)
    print(f"simulated log: {n_rows:,} records, {len(summary):,} customers; summary built in {t_sum:.2f} s")
    cases.append((f"simulated log ({len(summary) // 1000}k)", summary))
    if not args.quick:
        cases.append((f"simulated summary ({args.n_large // 1_000_000}M)", large_summary(args.n_large)))
    paths = {}
    for i, (name, s) in enumerate(cases):
        paths[name] = work / f"summary-{i}.csv"
        s[["frequency", "t_x", "T", "monetary_value"]].to_csv(paths[name], index=False)

    res: dict[tuple[str, str, str], list[dict]] = {}
    for r in range(args.rounds):
        before = load()
        for name, _ in cases:
            for task in ("bg_gg_clv", "pareto"):
                libs = ["ours", "lt"] if r % 2 == 0 else ["lt", "ours"]
                for lib in libs:
                    if lib == "ours":
                        cmd = [sys.executable, __file__, "--worker", str(paths[name]), task]
                        out = run_child(cmd, 3600)
                    elif lt_python is not None:
                        out = run_child([str(lt_python), str(lt_script), str(paths[name]), task], args.timeout)
                    else:
                        out = {"error": "skipped"}
                    res.setdefault((name, lib, task), []).append(out)
        print(f"round {r + 1}/{args.rounds} done; load average before/after: {before} → {load()}", flush=True)

    rows = []
    for name, s in cases:
        o, lt = res[(name, "ours", "bg_gg_clv")], res[(name, "lt", "bg_gg_clv")]
        op, lp = res[(name, "ours", "pareto")], res[(name, "lt", "pareto")]
        row = {"case": name, "customers": f"{len(s):,}", "distinct rows": f"{o[0].get('n_unique', 0):,}"}
        row["grouping CPU s (ours, shared)"] = f"{median_of(o, ('group',), 'cpu') or 0:.2f}"
        for label, keys in (("BG/NBD", ("bgnbd",)), ("Gamma-Gamma", ("gg",)), ("CLV", ("clv",))):
            row[f"{label} CPU s (ours / lifetimes)"] = cell(median_of(o, keys, "cpu"), median_of(lt, keys, "cpu"), lt)
        ours_cpu, lt_cpu = median_of(o, BG_KEYS, "cpu"), median_of(lt, BG_KEYS, "cpu")
        row["BG+GG+CLV CPU s"] = cell(ours_cpu, lt_cpu, lt)
        row["BG+GG+CLV wall s"] = cell(median_of(o, BG_KEYS, "s"), median_of(lt, BG_KEYS, "s"), lt)
        row["BG+GG+CLV lifetimes ÷ ours (CPU)"] = ratio(ours_cpu, lt_cpu, lt)
        pc_ours, pc_lt = median_of(op, ("pareto",), "cpu"), median_of(lp, ("pareto",), "cpu")
        row["Pareto/NBD CPU s"] = cell(pc_ours, pc_lt, lp)
        row["Pareto/NBD wall s"] = cell(median_of(op, ("pareto",), "s"), median_of(lp, ("pareto",), "s"), lp)
        row["Pareto/NBD lifetimes ÷ ours (CPU)"] = ratio(pc_ours, pc_lt, lp)
        row["max rel. param diff BG/GG/Pareto"] = (
            " / ".join(f"{max_rel_diff(o[0].get(k), lt[0].get(k)):.0e}" for k in ("bgnbd", "gamma_gamma"))
            + f" / {max_rel_diff(op[0].get('pareto_nbd'), lp[0].get('pareto_nbd')):.0e}"
        )
        row["peak MB (ours / lifetimes)"] = (
            f"{max(x.get('peak_mb', 0) for x in o + op):.0f} / {max(x.get('peak_mb', 0) for x in lt + lp):.0f}"
        )
        rows.append(row)
    table = pd.DataFrame(rows).set_index("case")
    print()
    print(f"rfmkit vs lifetimes 0.11.3 with weights= on distinct rows; medians of {args.rounds} interleaved rounds,")
    print("fit + CLV steps only, single-threaded BLAS. CLV: rfmkit 52 weekly discounted steps, lifetimes 12 monthly.")
    with pd.option_context("display.width", 250, "display.max_columns", 20, "display.max_colwidth", 40):
        print(table.T.to_string())
    if not args.quick:
        name = cases[-1][0]
        o, op = res[(name, "ours", "bg_gg_clv")], res[(name, "ours", "pareto")]
        bg, pn = median_of(o, BG_KEYS, "cpu"), median_of(op, ("pareto",), "cpu")
        lt_bg = median_of(res[(name, "lt", "bg_gg_clv")], BG_KEYS, "cpu")
        print()

        def verdict(x: float | None, ok: bool) -> str:
            return "not measured (a run failed)" if x is None else f"{x:.2f} → {'reached' if ok else 'NOT reached'}"

        print(f"goal: BG/NBD + Gamma-Gamma + CLV for 1M customers <= 1 s CPU: {verdict(bg, bool(bg) and bg <= 1)}")
        print(f"goal: Pareto/NBD for 1M customers <= 3 s CPU: {verdict(pn, bool(pn) and pn <= 3)}")
        speedup = lt_bg / bg if lt_bg is not None and bg else None
        ok = bool(speedup) and speedup >= 50
        print(f"goal: >= 50x lifetimes with weights= (BG+GG+CLV CPU ratio): {verdict(speedup, ok)}")
        lt_pn = median_of(res[(name, "lt", "pareto")], ("pareto",), "cpu")
        speedup = lt_pn / pn if lt_pn is not None and pn else None
        ok = bool(speedup) and speedup >= 50
        print(f"goal: >= 50x lifetimes with weights= (Pareto/NBD CPU ratio): {verdict(speedup, ok)}")
        lt, lp = res[(name, "lt", "bg_gg_clv")], res[(name, "lt", "pareto")]
        diffs = [max_rel_diff(o[0].get(k), lt[0].get(k)) for k in ("bgnbd", "gamma_gamma")]
        diffs.append(max_rel_diff(op[0].get("pareto_nbd"), lp[0].get("pareto_nbd")))
        worst = max(diffs)
        shown = (
            "not measured"
            if not np.isfinite(worst)
            else f"{worst:.1e} → {'reached' if worst <= 1e-4 else 'NOT reached'}"
        )
        print(f"goal: parameters within 1e-4 relative of lifetimes (worst of BG/NBD, Gamma-Gamma, Pareto/NBD): {shown}")


if __name__ == "__main__":
    main()
