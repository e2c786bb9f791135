"""Benchmark the grading stage: the reasons and move-up sentences, the sample inputs and the criterion review.

The sample log of ``--customers`` customers (seed 42) is cleaned and scored as of December 2024 (CLV off, clustering
off: those are other stages' costs), then each part of :func:`analysis.grading.stage.grade` is timed ``--rounds``
times (medians reported): the grading table in both languages (:func:`analysis.grading.table.grading_table`), the
four sample inputs read and cleaned, and the criterion review. scikit-learn is imported before timing.

Usage::

    python benchmarks/grading.py                      # 20,000 customers, 3 rounds
    python benchmarks/grading.py --customers 100000 --rounds 1
"""

from __future__ import annotations

import argparse
import statistics
import time

import pandas as pd


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    import sklearn.linear_model  # noqa: F401  (imported before timing)

    from analysis import stages
    from analysis.data.clean import clean_transactions
    from analysis.data.sample import generate_transactions
    from analysis.grading import review
    from analysis.grading.inputs import read_input
    from analysis.grading.table import grading_rules, grading_table
    from analysis.params import CleaningParams, parse_params

    names = ("feedback", "interactions", "attributes", "kano")
    params = parse_params({
        "periods": {"start": "2024-12", "end": "2024-12"}, "clv": {"enabled": False},
        "segmentation": {"cluster": {"enabled": False}},
        "grading": {n: {"source": {"format": "sample"}} for n in names},
    })  # fmt: skip
    raw = generate_transactions(customers=args.customers, seed=42)
    res = clean_transactions(raw, {}, CleaningParams(), origin="sample")
    clean = stages.cleaned(res, "2024-12")
    window = stages.run_window("2024-12", clean, params)
    scored = stages.score(clean.transactions, params, window.as_of, window.start, clv_check=False)
    rules = grading_rules(params, scored.cut_points, window.start, window.as_of, window.next[1])
    as_of = pd.Timestamp(window.as_of)
    times: dict[str, list[float]] = {"table (en + zh)": [], "sample inputs": [], "criterion review": []}
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        grading_table(scored.customers, clean.transactions, rules, "en", "$")
        t1 = time.perf_counter()
        got = {n: read_input(n, params, res.clean, as_of) for n in names}
        t2 = time.perf_counter()
        review.review(clean.transactions, as_of, feedback=got["feedback"].clean,
                      interactions=got["interactions"].clean, attributes=got["attributes"].clean)  # fmt: skip
        t3 = time.perf_counter()
        for key, dt in zip(times, (t1 - t0, t2 - t1, t3 - t2), strict=True):
            times[key].append(dt)
    print(f"{len(scored.customers):,} customers scored; medians of {args.rounds} round(s):")
    for key, values in times.items():
        print(f"  {key:<18} {statistics.median(values):7.1f} s")


if __name__ == "__main__":
    main()
