"""The score step on every engine: ``rfmkit score`` and the batch's score stage give the same customers whether
the per-customer summaries come from pandas or from DuckDB (reading a frame or the Parquet file itself).

Counts, dates and stages exactly; money to 1e-9 relative. The pandas engine is checked against plain groupby code
(the obvious definitions, written here) so that the fast, factorised pandas code is not compared with itself.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import stages
from analysis.cli import main
from analysis.customers.lifecycle import lifecycle_stages
from analysis.customers.rfm import order_keys
from analysis.engines import ScoreRequest
from analysis.engines.base import ScoreInputs
from analysis.engines.duckdb_engine import DuckDBEngine
from analysis.engines.pandas_engine import PandasEngine
from analysis.params import RunParams
from tests.conftest import examples, tx
from tests.test_engines import AWKWARD

MONEY = ("monetary", "monetary_value", "total_spend", "spend")


def same_frame(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Same customers (in order), same columns; exact except money (1e-9 relative); NaN where NaN."""
    assert list(got.index) == list(want.index)
    assert got.index.name == want.index.name == "customer_id"
    assert list(got.columns) == list(want.columns)
    for col in want.columns:
        g, w = got[col], want[col]
        assert np.array_equal(g.isna().to_numpy(), w.isna().to_numpy()), col
        if col in MONEY:
            np.testing.assert_allclose(g.to_numpy(float), w.to_numpy(float), rtol=1e-9, atol=0, err_msg=col)
        elif pd.api.types.is_datetime64_any_dtype(w):
            assert list(g) == list(w), col
        else:
            ok = w.notna().to_numpy()
            assert list(g[ok]) == list(w[ok]), col


def same_inputs(got: ScoreInputs, want: ScoreInputs) -> None:
    same_frame(got.rfm, want.rfm)
    assert (got.rfm_previous is None) == (want.rfm_previous is None)
    if want.rfm_previous is not None:
        same_frame(got.rfm_previous, want.rfm_previous)
    assert (got.btyd is None) == (want.btyd is None), (got.btyd_error, want.btyd_error)
    if want.btyd is not None:
        same_frame(got.btyd, want.btyd)
        assert got.btyd.attrs == want.btyd.attrs
    same_frame(got.lifecycle, want.lifecycle)
    assert (got.first_day, got.last_day) == (want.first_day, want.last_day)
    assert (got.run_rate is None) == (want.run_rate is None) == (want.btyd is None)
    if want.run_rate is not None:
        same_frame(got.run_rate, want.run_rate)


@pytest.fixture(scope="module")
def duck():
    with DuckDBEngine() as engine:
        yield engine


REQUESTS = [
    ScoreRequest("1997-09-30", "1997-08-31"),
    ScoreRequest("1998-06-30", "1998-05-31", lookback_days=90, time_unit="D"),
    ScoreRequest("1997-03-25", "1997-02-28", lookback_days=30, time_unit="M"),
]


@pytest.mark.parametrize("request_", REQUESTS, ids=["W", "lookback-D", "lookback-M"])
def test_cdnow_score_inputs_same_on_duckdb(duck, cdnow_clean: pd.DataFrame, tmp_path: Path, request_) -> None:
    want = PandasEngine().score_inputs(cdnow_clean, request_)
    assert len(want.rfm) > 200 and want.rfm_previous is not None and want.btyd is not None
    same_inputs(duck.score_inputs(cdnow_clean, request_), want)
    path = tmp_path / "clean.parquet"
    cdnow_clean.to_parquet(path, index=False)
    same_inputs(duck.score_inputs(str(path), request_), want)
    same_inputs(PandasEngine().score_inputs(str(path), request_), want)


def naive_rfm(log: pd.DataFrame, as_of: str, lookback: int | None) -> pd.DataFrame:
    """The RFM definitions with plain groupby on text keys (the kit's code before it was vectorised)."""
    day0 = pd.Timestamp(as_of)
    day = log["order_date"].dt.normalize()
    keep = (day <= day0) & ((day > day0 - pd.Timedelta(days=lookback)) if lookback else True)
    t = log.loc[keep, ["customer_id", "amount"]].assign(day=day[keep], key=order_keys(log.loc[keep]).to_numpy())
    g = t[t["amount"] >= 0].groupby("customer_id")
    out = pd.DataFrame({"first_purchase": g["day"].min(), "last_purchase": g["day"].max()})
    out["recency_days"] = (day0 - out["last_purchase"]).dt.days.astype("int64")
    out["frequency"] = g["key"].nunique().astype("int64")
    out["monetary"] = t.groupby("customer_id")["amount"].sum().reindex(out.index).round(6)
    return out


def naive_facts(log: pd.DataFrame, as_of: str, prev: str) -> pd.DataFrame:
    """Lifecycle facts with plain groupby: distinct purchase days, their median gap, up to both days."""
    days = log.assign(day=log["order_date"].dt.normalize())[["customer_id", "day"]].drop_duplicates()

    def facts(upto: str) -> pd.DataFrame:
        d = days[days["day"] <= pd.Timestamp(upto)].sort_values(["customer_id", "day"])
        g = d.groupby("customer_id")["day"]
        gaps = d.groupby("customer_id")["day"].diff().dt.days
        return pd.DataFrame(
            {"first": g.min(), "last": g.max(), "days": g.size(), "gap": gaps.groupby(d["customer_id"]).median()}
        )

    now, before = facts(as_of), facts(prev).reindex(facts(as_of).index)
    return pd.DataFrame(
        {
            "first_purchase": now["first"],
            "last_purchase": now["last"],
            "purchase_days": now["days"],
            "usual_gap_days": now["gap"],
            "last_purchase_prev": before["last"],
            "purchase_days_prev": before["days"].fillna(0).astype("int64"),
            "usual_gap_days_prev": before["gap"],
        }
    ).rename_axis("customer_id")


@pytest.mark.parametrize("with_order", [True, False], ids=["order_id", "no-order_id"])
@pytest.mark.parametrize("lookback", [None, 30, 1])
@pytest.mark.parametrize("prev", ["2024-03-01", "2024-03-15", "2023-01-01"])
def test_awkward_log_score_inputs(duck, with_order: bool, lookback, prev) -> None:
    """Several rows a day, no order ids, the lookback's edges, a purchase on as_of, rows after it, a previous
    period with nobody in it: DuckDB equals pandas, and pandas equals the plain definitions."""
    log = tx(AWKWARD, with_order=with_order)
    r = ScoreRequest("2024-03-31", prev, lookback_days=lookback)
    want = PandasEngine().score_inputs(log, r)
    same_inputs(duck.score_inputs(log, r), want)
    upto = log[log["order_date"] <= "2024-03-31 23:59:59"]
    same_frame(want.rfm, naive_rfm(upto, "2024-03-31", lookback))
    same_frame(want.lifecycle, naive_facts(upto, "2024-03-31", prev))
    assert want.rfm_previous is None if prev == "2023-01-01" else want.rfm_previous is not None
    if want.rfm_previous is not None:
        same_frame(want.rfm_previous, naive_rfm(upto, prev, lookback))
    assert (want.first_day, want.last_day) == (pd.Timestamp("2023-12-31"), pd.Timestamp("2024-04-15"))


def test_run_rate_facts_come_from_the_pass_and_give_the_log_run_rate(duck) -> None:
    """The engine's run-rate facts (one per customer, the retention base window bound in the pass) give the run
    rate the log gives, without the log being read again."""
    from analysis.clv.pipeline import estimate_customer_value
    from analysis.clv.run_rate import RETENTION_WINDOW_DAYS, run_rate_facts, run_rate_value
    from analysis.engines import base

    assert base.RETENTION_WINDOW_DAYS == RETENTION_WINDOW_DAYS
    rows = [("i", None, "2024-01-01", 5.0), ("a", None, "2024-03-01", 10.0), ("a", None, "2024-09-01", 30.0)]
    rows += [(c, None, "2024-02-01", 20.0) for c in "bcdefgh"] + [("z", None, "2025-02-01", 1.0)]
    log = tx(rows)
    got = duck.score_inputs(log, ScoreRequest("2024-12-31", "2024-11-30"))
    same_frame(got.run_rate, run_rate_facts(log, "2024-12-31"))
    assert got.run_rate["in_retention_base"].sum() == 8  # bought in [2024-01-02, 2024-07-02]

    def unread() -> pd.DataFrame:
        raise AssertionError("the log was read again")

    value = estimate_customer_value(unread, "2024-12-31", summary=got.btyd, run_rate_facts=got.run_rate)
    want = run_rate_value(log, "2024-12-31", "W", value.horizon, value.discount_rate)
    assert value.method == "run_rate" and value.run_rate.retention_customers == 8
    assert value.run_rate.retention_per_unit == want.retention_per_unit
    pd.testing.assert_frame_equal(value.customers, want.customers, check_exact=False, rtol=1e-12)


def test_netted_returns_leave_rfm_and_name_the_btyd_problem(duck) -> None:
    log = tx([*AWKWARD, ("a", "r1", "2024-03-12", -7.25), ("h", "r2", "2024-03-20", -5.0)])
    r = ScoreRequest("2024-03-31", "2024-02-29")
    want, got = PandasEngine().score_inputs(log, r), duck.score_inputs(log, r)
    same_inputs(got, want)
    assert want.btyd is None and got.btyd is None
    assert "2 row(s) have a negative 'amount'" in want.btyd_error and "2 row(s) have a negative" in got.btyd_error
    assert want.rfm.loc["a", "monetary"] == 17.5


def test_lifecycle_stages_equal_the_plain_definitions(cdnow_clean: pd.DataFrame) -> None:
    """The vectorised lifecycle gives the stages the plain groupby facts give (every stage occurs)."""
    res = lifecycle_stages(cdnow_clean, "1997-09-30", "1997-08-31")
    facts = naive_facts(cdnow_clean, "1997-09-30", "1997-08-31")
    assert list(res.index) == list(facts.index)
    assert res["usual_gap_days"].equals(facts["usual_gap_days"])
    assert (res["purchase_days"] == facts["purchase_days"]).all()
    assert {"active", "reactivated", "dormant", "lost"} <= set(res["stage"])


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(
            # text order, not numbers ('10' < '9'), upper case before lower, multi-byte letters after ASCII: the
            # engines sort the ids (DuckDB's frames in Arrow, by UTF-8 bytes) as pandas does
            st.sampled_from(["a", "b", "c", "ü-1", "10", "9", "Z", "é", "日"]),
            st.one_of(st.none(), st.sampled_from(["o1", "o2", "o3"])),
            st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2024, 2, 15)),
            st.decimals(min_value=0, max_value=1000, places=2).map(float),
        ),
        min_size=1,
        max_size=40,
    ),
    as_of=st.dates(min_value=dt.date(2024, 1, 10), max_value=dt.date(2024, 2, 15)),
    back=st.integers(1, 20),
    lookback=st.one_of(st.none(), st.integers(1, 40)),
)
def test_duckdb_score_inputs_match_pandas_on_any_log(duck, rows, as_of, back, lookback) -> None:
    log = tx(rows)
    r = ScoreRequest(str(as_of), str(as_of - dt.timedelta(days=back)), lookback_days=lookback)
    same_inputs(duck.score_inputs(log, r), PandasEngine().score_inputs(log, r))


def same_customers(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Scored customers: the fitted CLV columns to 1e-6 (the model fits see inputs equal to 1e-9, summed in
    another order, and converge to within their tolerance), everything else exactly or to 1e-9 (money)."""
    clv_columns = ("p_alive", "expected_purchases", "spend_per_purchase", "expected_spend_horizon", "clv")
    fitted = [c for c in clv_columns if c in want.columns]
    pd.testing.assert_frame_equal(got[fitted], want[fitted], check_exact=False, rtol=1e-6)
    rest = want.columns.drop(fitted)
    pd.testing.assert_frame_equal(got[rest], want[rest], check_exact=False, rtol=1e-9)


def _params(**update) -> RunParams:
    return RunParams.model_validate({"periods": {"start": "2000-01", "end": "2000-01"}, **update})


def test_score_stage_same_customers_on_every_engine(cdnow_clean: pd.DataFrame) -> None:
    """The whole score stage (scores, segments, CLV, ABC, lifecycle, clusters, previous period) per engine."""
    tx_ = cdnow_clean[cdnow_clean["order_date"] <= "1997-09-30"].reset_index(drop=True)
    want = stages.score(tx_, _params(), "1997-09-30", clv_check=False, engine="pandas")
    got = stages.score(tx_, _params(), "1997-09-30", clv_check=False, engine="duckdb")
    assert want.clv is None and "clv" in want.customers.columns and want.customers["lifecycle_stage"].nunique() >= 3
    same_customers(got.customers, want.customers)
    pd.testing.assert_frame_equal(got.previous, want.previous, check_exact=False, rtol=1e-9)
    pd.testing.assert_frame_equal(got.cut_points, want.cut_points)


def test_rfmkit_score_engines_agree(cdnow_clean: pd.DataFrame, tmp_path: Path) -> None:
    clean = tmp_path / "clean.parquet"
    cdnow_clean.to_parquet(clean, index=False)
    runner = CliRunner()
    outs = {}
    for engine in ("pandas", "duckdb"):
        outs[engine] = tmp_path / f"{engine}.parquet"
        res = runner.invoke(
            main, ["score", str(clean), "--as-of", "1997-09-30", "--out", str(outs[engine]), "--engine", engine]
        )
        assert res.exit_code == 0, res.output
    a, b = pd.read_parquet(outs["pandas"]), pd.read_parquet(outs["duckdb"])
    assert len(a) > 2000
    same_customers(b, a)
    res = runner.invoke(main, ["score", str(clean), "--as-of", "1990-01-01", "--out", str(tmp_path / "e.parquet"),
                               "--engine", "duckdb"])  # fmt: skip
    assert res.exit_code == 2 and "before the data starts (1997-01-01)" in res.output
