"""``rfmkit summary``: the transaction → customer step alone gives the numbers ``rfmkit score`` gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from analysis.cli import main
from analysis.clv.summary import summary_from_transactions
from tests.conftest import CDNOW

RFM = ["first_purchase", "last_purchase", "recency_days", "frequency", "monetary"]
BTYD = {"repeat_frequency": "frequency", "t_x": "t_x", "T": "T", "monetary_value": "monetary_value"}


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def clean_parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clean")
    res = invoke(
        "clean", str(CDNOW), "--out", str(out), "--sep", r"\s+", "--no-header",
        "--names", "cohort,cust,date,cds,dollars", "--map", "customer_id=cust", "--map", "order_date=date",
        "--map", "amount=dollars", "--date-format", "%Y%m%d",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    return out / "clean.parquet"


@pytest.mark.parametrize("engine", ["pandas", "duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def test_summary_equals_score(tmp_path: Path, clean_parquet: Path, engine: str, request: pytest.FixtureRequest) -> None:
    if engine == "spark":
        request.getfixturevalue("spark_session")  # the run's one session: the command uses it, as in a notebook
    as_of = "1997-09-30"
    scored = tmp_path / "scored.parquet"
    res = invoke("score", str(clean_parquet), "--as-of", as_of, "--out", str(scored), "--no-clv")
    assert res.exit_code == 0, res.output
    out = tmp_path / "summary.parquet"
    res = invoke("summary", str(clean_parquet), "--as-of", as_of, "--engine", engine, "--out", str(out))
    assert res.exit_code == 0, res.output
    got = pd.read_parquet(out)
    want = pd.read_parquet(scored)
    assert f"summarised {len(want):,} customers as of 1997-09-30" in res.output
    assert list(got.index) == list(want.index)
    for col in RFM:
        if col == "monetary":
            np.testing.assert_allclose(got[col], want[col], rtol=1e-9, atol=0)
        else:
            assert (got[col] == want[col]).all(), col
    btyd = summary_from_transactions(pd.read_parquet(clean_parquet), as_of, time_unit="W")
    for ours, theirs in BTYD.items():
        np.testing.assert_allclose(
            got[ours].to_numpy(float), btyd[theirs].reindex(got.index).to_numpy(float), rtol=1e-9
        )


def test_summary_lookback_holdout_time_unit_and_glob(tmp_path: Path, clean_parquet: Path) -> None:
    parts = tmp_path / "parts"
    parts.mkdir()
    tx = pd.read_parquet(clean_parquet)
    half = tx["customer_id"] < "1200"
    tx[half].to_parquet(parts / "a.parquet", index=False)
    tx[~half].to_parquet(parts / "b.parquet", index=False)
    outs = {}
    for engine, source in (("pandas", str(clean_parquet)), ("duckdb", str(parts / "*.parquet"))):
        out = tmp_path / f"{engine}.parquet"  # full precision (a .csv has money in cents)
        res = invoke(
            "summary", source, "--as-of", "1997-12-31", "--engine", engine, "--lookback-days", "60",
            "--holdout-end", "1998-06-30", "--time-unit", "D", "--out", str(out),
        )  # fmt: skip
        assert res.exit_code == 0, res.output
        outs[engine] = pd.read_parquet(out)
    a, b = outs["pandas"], outs["duckdb"]
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9)
    assert {"frequency_holdout", "duration_holdout"} <= set(a.columns)
    assert (a["duration_holdout"] == 181).all() and (a["recency_days"] < 60).all()


def test_summary_refuses_raw_logs_and_unknown_engines(tmp_path: Path, clean_parquet: Path) -> None:
    raw = tmp_path / "raw.csv"
    raw.write_text("CustomerID,InvoiceDate,Sales\n17850,2010-12-01 08:26,15.30\n")
    res = CliRunner().invoke(main, ["summary", str(raw), "--as-of", "2010-12-31", "--out", str(tmp_path / "x.csv")])
    assert res.exit_code == 2 and "lacks column(s)" in res.output and "run 'rfmkit clean' first" in res.output
    res = CliRunner().invoke(
        main, ["summary", str(clean_parquet), "--as-of", "1997-09-30", "--engine", "polars", "--out", "x.parquet"]
    )
    assert res.exit_code == 2 and "unknown engine 'polars'" in res.output
    help_text = invoke("summary", "--help").output
    assert "INPUT must be clean data" in help_text
