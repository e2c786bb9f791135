"""Benchmark: cleaning a raw transaction log at scale (``rfmkit clean``'s read + ``clean_transactions``).

Input: a synthetic *raw* log as Parquet, shaped like a real export rather than like ``clean.parquet``:

* ``customer_id`` text: mostly ``"1012345"``, with 1 % ``"(blank)"``, 0.5 % ``"NULL"``, 0.5 % empty,
  1 % padded (``" 1012345 "``), 1 % with a float suffix (``"1012345.0"``);
* ``order_id`` text, 2 % cancellations (``"C…"``);
* ``order_date`` text (``"2024-09-23 03:38:52"``), 0.2 % unparseable (``"not a date"``);
* ``amount`` float64, lognormal, 1 % negative (returns), 0.3 % zero, 0.2 % missing;
* ``region`` text (four regions and 1 % ``"N/A"``);
* 1 % exact duplicates of earlier rows.

Customers = 4 % of rows, two years of days, about 1.5 rows per order, like ``benchmarks/scale.py``;
cached as ``raw-<size>.parquet`` under ``~/.cache/rfmkit/bench-scale`` (``--data-dir``).

Contenders, each a fresh child process (imports included, as a user pays them):

* ``read``: ``pd.read_parquet`` of the file alone (the floor: what reading costs);
* ``clean``: ``read_transactions`` + ``clean_transactions`` (what ``rfmkit clean`` and the on-the-fly cleaning of
  ``rfmkit score`` run), on the raw log;
* ``clean:clean-shaped``: the same on ``log-<size>.parquet`` of ``benchmarks/scale.py`` (typed columns: the fast
  paths for already-clean text ids, timestamp dates and numeric amounts).

The child reports ``getrusage`` CPU (user + system) and its peak RSS (``VmHWM``); rounds are interleaved (order
rotated per round), medians over ``--rounds`` (default 3) are printed with the machine and its load average.
Every ``clean`` run prints its row accounting (rows in, clean, per reason) and the runs must agree.

Defaults (``python benchmarks/clean_scale.py``): sizes 1M and 10M, 3 rounds, all contenders.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.scale import DAYS, DEFAULT_DATA, START, load, machine  # noqa: E402

CONTENDERS = ("read", "clean", "clean:clean-shaped")
SIZES = {"100k": 100_000, "1M": 1_000_000, "10M": 10_000_000}
REGIONS = ("North", "South", "East", "West")


def make_raw_log(path: Path, n: int, seed: int = 0) -> None:
    """Write a synthetic raw log of ``n`` rows to ``path`` (see the module docstring for its shape)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    n_customers = max(1, n * 4 // 100)
    start = np.datetime64(START, "s")
    tmp = path.with_suffix(".tmp")
    writer = None
    order = 0
    chunk = 2_000_000
    for lo in range(0, n, chunk):
        k = min(chunk, n - lo) // 100  # duplicates in this chunk
        m = min(chunk, n - lo) - k
        cust = pc.cast(pa.array(rng.integers(0, n_customers, size=m) + 1_000_000), pa.string())
        u = rng.random(m)
        cust = pc.if_else(pa.array(u < 0.01), pa.scalar("(blank)"), cust)
        cust = pc.if_else(pa.array((u >= 0.01) & (u < 0.015)), pa.scalar("NULL"), cust)
        cust = pc.if_else(pa.array((u >= 0.015) & (u < 0.02)), pa.scalar(""), cust)
        cust = pc.if_else(pa.array((u >= 0.02) & (u < 0.03)), pc.binary_join_element_wise(" ", cust, " ", ""), cust)
        cust = pc.if_else(pa.array((u >= 0.03) & (u < 0.04)), pc.binary_join_element_wise(cust, ".0", ""), cust)
        new_order = rng.random(m) < 2 / 3
        new_order[0] = True
        order_no = order + np.cumsum(new_order)
        order = int(order_no[-1])
        orders = pc.cast(pa.array(order_no), pa.string())
        orders = pc.if_else(pa.array(rng.random(m) < 0.02), pc.binary_join_element_wise("C", orders, ""), orders)
        seconds = rng.integers(0, DAYS * 86_400, size=m)
        dates = pc.strftime(pa.array(start + seconds.astype("timedelta64[s]")), format="%Y-%m-%d %H:%M:%S")
        dates = pc.if_else(pa.array(rng.random(m) < 0.002), pa.scalar("not a date"), dates)
        amount = np.round(rng.lognormal(3.0, 0.8, size=m), 2)
        v = rng.random(m)
        amount = np.where(v < 0.01, -amount, amount)
        amount = np.where((v >= 0.01) & (v < 0.013), 0.0, amount)
        amount = np.where((v >= 0.013) & (v < 0.015), np.nan, amount)
        region = pa.array(np.asarray(REGIONS, dtype=object)[rng.integers(0, len(REGIONS), size=m)], pa.string())
        region = pc.if_else(pa.array(rng.random(m) < 0.01), pa.scalar("N/A"), region)
        table = pa.table(
            {
                "customer_id": cust,
                "order_id": orders,
                "order_date": dates,
                "amount": pa.array(amount, from_pandas=True),
                "region": region,
            }
        )
        # 1 % exact duplicates: copies of earlier rows of this chunk placed right after the chunk's rows
        dup = np.sort(rng.integers(0, m, size=k))
        table = pa.concat_tables([table, table.take(pa.array(dup))])
        if writer is None:
            writer = pq.ParquetWriter(tmp, table.schema)
        writer.write_table(table, row_group_size=1_000_000)
    writer.close()
    tmp.rename(path)


def raw_dataset(data_dir: Path, label: str) -> Path:
    """``raw-<label>.parquet`` under ``data_dir``, written on first use."""
    path = data_dir / f"raw-{label}.parquet"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        print(f"writing {path} ...", flush=True)
        make_raw_log(path, SIZES[label])
        print(f"  written in {time.perf_counter() - t:.0f} s", flush=True)
    return path


def clean_shaped(data_dir: Path, label: str) -> Path:
    """``log-<label>.parquet`` of ``benchmarks/scale.py`` (written by it on first use)."""
    from benchmarks.scale import dataset

    return dataset(data_dir, label)


# ----------------------------------------------------------------------------- child side
def child_main(contender: str, path: str) -> None:
    import resource

    res: dict = {}
    if contender == "read":
        import pandas as pd

        res["rows"] = len(pd.read_parquet(path))
    else:
        from analysis.data.clean import clean_transactions
        from analysis.data.io import read_transactions
        from analysis.params import SourceParams

        result = clean_transactions(read_transactions(SourceParams(format="auto", path=path)), origin=path)
        q = result.quality
        res["rows"] = q["rows_in"]
        res["accounting"] = {"rows_in": q["rows_in"], "rows_clean": q["rows_clean"], **q["reasons"],
                             "customers": q["customers"], "revenue": q["revenue"]}  # fmt: skip
    me = resource.getrusage(resource.RUSAGE_SELF)
    res["cpu_s"] = me.ru_utime + me.ru_stime
    with open("/proc/self/status") as fh:
        res["peak_mib"] = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM")) / 1024
    print(json.dumps(res))


# ----------------------------------------------------------------------------- parent side
def measure(cmd: list[str], timeout: float) -> dict:
    env = os.environ | {"PYTHONPATH": str(REPO)}
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1][:200]}
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["wall_s"] = wall
    return res


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1M,10M", help="comma list of 100k, 1M, 10M (default 1M,10M)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default=",".join(CONTENDERS), help=f"comma list of {', '.join(CONTENDERS)}")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per run")
    parser.add_argument("--child", nargs=2, metavar=("CONTENDER", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.child[0], args.child[1])
        return
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    contenders = [c.strip() for c in args.only.split(",") if c.strip()]
    unknown = sorted(set(contenders) - set(CONTENDERS)) + sorted(set(sizes) - set(SIZES))
    if unknown:
        parser.error(f"unknown contender or size {unknown}")
    print(f"machine: {machine()}")
    print(f"settings: sizes {sizes}, {args.rounds} rounds, contenders {contenders}")
    raw = {s: raw_dataset(args.data_dir, s) for s in sizes}
    shaped = {s: clean_shaped(args.data_dir, s) for s in sizes if "clean:clean-shaped" in contenders}
    results: dict[tuple[str, str], list[dict]] = {}
    for r in range(args.rounds):
        for size in sizes:
            order = contenders[r % len(contenders) :] + contenders[: r % len(contenders)]
            before = load()
            for c in order:
                path = shaped[size] if c == "clean:clean-shaped" else raw[size]
                cmd = [sys.executable, __file__, "--child", c.split(":")[0], str(path)]
                res = measure(cmd, args.timeout)
                results.setdefault((size, c), []).append(res)
                shown = res.get("error") or (
                    f"cpu {res['cpu_s']:.1f} s, wall {res['wall_s']:.1f} s, peak {res['peak_mib']:.0f} MiB"
                )
                print(f"round {r + 1} {size:>4} {c:<19} {shown}", flush=True)
            print(f"round {r + 1} {size:>4} load average before/after (1/5/15 min): {before} → {load()}", flush=True)
    print()
    print("medians over rounds")
    print("| rows | contender | CPU s | wall s | peak RSS MiB | runs | accounting agrees |")
    print("|---|---|---:|---:|---:|---:|---|")
    for size in sizes:
        for c in contenders:
            runs = [x for x in results.get((size, c), []) if "error" not in x]
            if not runs:
                print(f"| {size} | {c} | failed | | | 0 | |")
                continue
            agree = len({json.dumps(x.get("accounting"), sort_keys=True) for x in runs}) == 1
            cpu, wall, peak = (statistics.median(x[k] for x in runs) for k in ("cpu_s", "wall_s", "peak_mib"))
            print(f"| {size} | {c} | {cpu:.1f} | {wall:.1f} | {peak:.0f} | {len(runs)} | {'yes' if agree else 'NO'} |")
    for size in sizes:
        for c in contenders:
            runs = [x for x in results.get((size, c), []) if "accounting" in x]
            if runs:
                print(f"{size} {c}: {runs[0]['accounting']}")


if __name__ == "__main__":
    main()
