"""Benchmark: rfmkit's CLV fits against lifetimes 0.11.3 on the same inputs.

Cases: the CDNOW sample (2,357 customers), a simulated ~25k-customer transaction log and a
simulated 1,000,000-customer summary (day-resolution times, as any summary built from a log;
``--quick`` skips it). For each case both libraries fit BG/NBD, Gamma-Gamma and Pareto/NBD and
compute the CLV of every customer (BG/NBD + Gamma-Gamma); each library runs in its own child
process, one at a time (single-threaded BLAS), so peak memory (max RSS) is per case.

lifetimes needs old pins (pandas<2, numpy<1.24, scipy<1.12): the script creates a virtual
environment for it under ``~/.cache/rfmkit/bench-lifetimes`` (or ``--lifetimes-venv``) on first
use, says so, and exchanges data with it through CSV files. lifetimes is given one row per
customer (its usual use); rfmkit collapses rows to distinct histories itself.

Usage::

    python benchmarks/clv_fit.py [--quick] [--no-lifetimes] [--timeout 480]
"""

from __future__ import annotations

import argparse
import json
import os
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
    if task == "bg_gg_clv":
        t = time.perf_counter()
        bgf = BetaGeoFitter().fit(d["frequency"], d["t_x"], d["T"])
        out["bgnbd_s"] = time.perf_counter() - t
        out["bgnbd"] = bgf.params_.to_dict()
        rep = d[d["frequency"] > 0]
        t = time.perf_counter()
        ggf = GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
        out["gg_s"] = time.perf_counter() - t
        out["gamma_gamma"] = ggf.params_.to_dict()
        t = time.perf_counter()
        clv = ggf.customer_lifetime_value(bgf, d["frequency"], d["t_x"], d["T"], d["monetary_value"],
                                          time=12, discount_rate=0.01, freq="W")
        out["clv_s"] = time.perf_counter() - t
        out["clv_sum"] = float(clv.sum())
    else:
        t = time.perf_counter()
        pnf = ParetoNBDFitter().fit(d["frequency"], d["t_x"], d["T"])
        out["pareto_s"] = time.perf_counter() - t
        out["pareto_nbd"] = pnf.params_.to_dict()
    with open("/proc/self/status") as fh:
        out["peak_mb"] = next(int(l.split()[1]) for l in fh if l.startswith("VmHWM")) / 1024
    print(json.dumps(out))
    """
)


def ours_worker(path: str, task: str) -> dict:
    """Fit rfmkit's models on the summary CSV at ``path`` (run in a child process)."""
    from analysis.clv.bgnbd import BGNBD
    from analysis.clv.gamma_gamma import GammaGamma
    from analysis.clv.pareto_nbd import ParetoNBD
    from analysis.clv.value import customer_lifetime_value, discount_rate_per_unit

    d = pd.read_csv(path)
    d.attrs["time_unit"] = "W"
    out: dict = {}
    if task == "bg_gg_clv":
        t = time.perf_counter()
        bg = BGNBD().fit(d)
        out["bgnbd_s"] = time.perf_counter() - t
        out["bgnbd"] = bg.params_.to_dict()
        out["n_unique"] = bg.n_unique_
        t = time.perf_counter()
        gg = GammaGamma().fit(d)
        out["gg_s"] = time.perf_counter() - t
        out["gamma_gamma"] = gg.params_.to_dict()
        t = time.perf_counter()
        clv = customer_lifetime_value(bg, gg, d, horizon=52, discount_rate=discount_rate_per_unit(0.1, "W"))
        out["clv_s"] = time.perf_counter() - t
        out["clv_sum"] = float(clv.sum())
    else:
        t = time.perf_counter()
        pn = ParetoNBD().fit(d)
        out["pareto_s"] = time.perf_counter() - t
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
def max_rel_diff(a: dict | None, b: dict | None) -> float:
    if not a or not b:
        return float("nan")
    return max(abs(a[k] - b[k]) / abs(b[k]) for k in a)


def fmt_time(res: dict, key: str) -> str:
    if "timeout" in res:
        return f">{res['timeout']:.0f}"
    if "error" in res or key not in res:
        return "error"
    return f"{res[key]:.2f}"


def ratio(ours: dict, theirs: dict, keys: tuple[str, ...]) -> str:
    if any(k not in ours for k in keys):
        return "n/a"
    mine = sum(ours[k] for k in keys)
    if "timeout" in theirs:
        return f">{theirs['timeout'] / mine:.0f}x"
    if any(k not in theirs for k in keys):
        return "n/a"
    return f"{sum(theirs[k] for k in keys) / mine:.1f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="skip the 1,000,000-customer case")
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

    rows = []
    for name, s in cases:
        path = work / "summary.csv"
        s[["frequency", "t_x", "T", "monetary_value"]].to_csv(path, index=False)
        res = {}
        for task in ("bg_gg_clv", "pareto"):
            print(f"[{name}] rfmkit {task} ...", flush=True)
            res[("ours", task)] = run_child([sys.executable, __file__, "--worker", str(path), task], 3600)
            if lt_python is not None:
                print(f"[{name}] lifetimes {task} ...", flush=True)
                res[("lt", task)] = run_child([str(lt_python), str(lt_script), str(path), task], args.timeout)
            else:
                res[("lt", task)] = {"error": "skipped"}
        o, lt = res[("ours", "bg_gg_clv")], res[("lt", "bg_gg_clv")]
        op, lp = res[("ours", "pareto")], res[("lt", "pareto")]
        rows.append(
            {
                "case": name,
                "customers": len(s),
                "distinct rows": o.get("n_unique", ""),
                "BG/NBD s (ours/lt)": f"{fmt_time(o, 'bgnbd_s')} / {fmt_time(lt, 'bgnbd_s')}",
                "GG s": f"{fmt_time(o, 'gg_s')} / {fmt_time(lt, 'gg_s')}",
                "CLV s": f"{fmt_time(o, 'clv_s')} / {fmt_time(lt, 'clv_s')}",
                "BG+GG+CLV speed-up": ratio(o, lt, ("bgnbd_s", "gg_s", "clv_s")),
                "Pareto s": f"{fmt_time(op, 'pareto_s')} / {fmt_time(lp, 'pareto_s')}",
                "Pareto speed-up": ratio(op, lp, ("pareto_s",)),
                "max rel. param diff BG/GG/Pareto": " / ".join(
                    f"{max_rel_diff(o.get(k), lt.get(k)):.1e}" for k in ("bgnbd", "gamma_gamma")
                )
                + f" / {max_rel_diff(op.get('pareto_nbd'), lp.get('pareto_nbd')):.1e}",
                "peak MB (ours/lt)": f"{max(o.get('peak_mb', 0), op.get('peak_mb', 0)):.0f} / "
                f"{max(lt.get('peak_mb', 0), lp.get('peak_mb', 0)):.0f}",
            }
        )
        print(json.dumps({f"{k[0]}:{k[1]}": v for k, v in res.items()}, default=str))
    table = pd.DataFrame(rows).set_index("case")
    print()
    print("rfmkit vs lifetimes 0.11.3 (seconds, single thread; CLV: rfmkit 52 weekly steps over distinct")
    print("(x, T), lifetimes 12 monthly steps; lifetimes gets one row per customer)")
    with pd.option_context("display.width", 250, "display.max_columns", 20):
        print(table.T.to_string())


if __name__ == "__main__":
    main()
