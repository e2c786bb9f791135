"""The numbers a manager reads, on a retailer-like invoice export with every real-world shape (``retail.py``).

Each test computes the expected figure by hand from the export's rows (plain pandas, no kit code) and compares it
with what the stages give the report: headline revenue, customers, segment counts, actions, churn warnings.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from analysis import stages
from analysis.data.store import clean_source
from analysis.params import RunParams, parse_params
from tests.acceptance.retail import (
    CANCELLED_BUYER,
    DATE_FORMAT,
    LAPSING_BUYER,
    MAPPING,
    NULL_TOKENS,
    TINY_REGION,
    WHOLESALE_BUYER,
    hand_customers,
    hand_gross,
    hand_kept_lines,
    hand_lines,
    hand_net_spend,
    hand_revenue,
    retail_log,
    write_retail_log,
)


def retail_params(path: Path, **extra: Any) -> RunParams:
    """Params for the export: the column mapping of params/online_retail.yaml and the export's date layout."""
    data = {
        "title": "Retail acceptance",
        "currency": "£",
        "source": {"format": "auto", "path": str(path)},
        "columns": MAPPING,
        "cleaning": {"date_format": DATE_FORMAT, "cancelled_prefix": "C"},
        "periods": {"start": "2011-10", "end": "2011-12"},
        **extra,
    }
    return parse_params(data)


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return retail_log()


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory):
    """``run(period, region)``: every stage of one run, computed once per module."""
    path = write_retail_log(tmp_path_factory.mktemp("retail") / "retail.csv")
    params = retail_params(path)
    result = clean_source(params)

    @cache
    def run(period: str, region: str = stages.ALL_REGIONS) -> dict[str, Any]:
        """The stages as a run's notebooks call them (analysis.context.RunContext)."""
        c = stages.cleaned(result, period, region, "Country")
        w = stages.run_window(period, c, params)
        tx = c.transactions
        s = stages.score(tx, params, w.as_of, w.start, data_start=c.data_start, clv_check=False)
        seg = stages.segment_analysis(tx, s, params, period, window=w)
        st = stages.strategy(tx, s, params, period, region=region, returns=c.returns, window=w)
        summary = stages.summary(c, s, seg, st, params, period, window=w)
        return {"clean": c, "window": w, "score": s, "segments": seg, "strategy": st, "summary": summary}

    run.result = result  # type: ignore[attr-defined]
    return run


def test_rows_are_accounted_for_and_null_tokens_are_no_customer(pipeline, raw: pd.DataFrame) -> None:
    q = pipeline.result.quality
    assert q["rows_in"] == len(raw) == q["rows_clean"] + q["rows_quarantined"]
    lines_per_token = {t: int((raw["CustomerID"] == t).sum()) for t in NULL_TOKENS}
    assert q["missing_tokens"]["customer_id"] == lines_per_token  # '(blank)': 80 lines, 'NULL': 6, …
    assert q["reasons"]["missing_customer_id"] == sum(lines_per_token.values())
    assert q["reasons"]["return"] == int(raw["InvoiceNo"].str.startswith("C").sum())
    run = pipeline("2011-12")
    ids = set(run["score"].customers.index)
    assert ids == hand_customers(raw, "2011-12-31")  # 89 real customers; no token became one
    assert not ids & {"(blank)", "NULL", "N/A", "", "nan", "None"}
    plan = run["strategy"].plan
    assert not set(plan.assignments.index) & set(NULL_TOKENS)  # no action list holds a missing id
    assert not set(run["strategy"].warnings.index) & set(NULL_TOKENS)


@pytest.mark.parametrize(
    ("period", "region"),
    [("2011-10", stages.ALL_REGIONS), ("2011-11", stages.ALL_REGIONS), ("2011-12", stages.ALL_REGIONS),
     ("2011-10", TINY_REGION), ("2011-11", TINY_REGION), ("2011-12", "Germany"), ("2011-08", stages.ALL_REGIONS)],
)  # fmt: skip
def test_period_revenue_and_customers_equal_a_hand_computation(pipeline, raw, period: str, region: str) -> None:
    first, last = (d.strftime("%Y-%m-%d") for d in stages.period_bounds(period))
    where = None if region == stages.ALL_REGIONS else region
    run = pipeline(period, region)
    assert run["clean"].revenue_period == pytest.approx(hand_revenue(raw, first, last, where), abs=0.005)
    assert set(run["score"].customers.index) == hand_customers(raw, last, where)
    segments = run["segments"].segments
    assert int(segments["customers"].sum()) == len(hand_customers(raw, last, where))  # segment counts add up


def test_month_without_sales(pipeline, raw) -> None:
    """The shop was closed in August; the three-customer region bought nothing in November."""
    august = pipeline("2011-08")
    assert august["clean"].revenue_period == 0.0
    assert len(august["score"].customers) == len(hand_customers(raw, "2011-08-31"))
    quiet = pipeline("2011-11", TINY_REGION)
    assert quiet["clean"].revenue_period == 0.0
    kpis = quiet["segments"].kpi_by_segment
    assert kpis["revenue"].sum() == 0.0 and kpis["orders"].sum() == 0
    assert isinstance(quiet["strategy"].backtest, stages.Missing)  # nothing to check the forecast against
    assert quiet["strategy"].backtest.key == "no_sales_in_period"


def test_region_with_three_customers(pipeline, raw) -> None:
    run = pipeline("2011-12", TINY_REGION)
    customers = run["score"].customers
    assert len(customers) == 3 == len(hand_customers(raw, "2011-12-31", TINY_REGION))
    assert int(run["segments"].segments["customers"].sum()) == 3
    st = run["strategy"]
    held = st.held_out
    assert len(st.plan.assignments) + held == 3  # every customer has an action or is held out to measure it
    assert run["clean"].revenue_period == hand_revenue(raw, "2011-12-01", "2011-12-31", TINY_REGION) > 0
    assert isinstance(run["score"].clusters, stages.Missing)  # too few to cluster, said, not failed


def test_a_cancelled_order_is_worth_nothing_to_the_strategy(pipeline, raw) -> None:
    """16446 ordered £168,469.60 on 9 Dec and cancelled it the same day (UCI's 80,995 paper birds): netted, the
    order is gone; what he kept is one £25.50 order of May."""
    run = pipeline("2011-12")
    customers = run["score"].customers
    st = run["strategy"]
    net = hand_net_spend(raw, "2011-12-31")
    assert net[CANCELLED_BUYER] == 25.50  # what he kept: one small order
    assert customers.loc[CANCELLED_BUYER, "frequency"] == 1  # the cancelled order is no longer an order …
    assert customers.loc[CANCELLED_BUYER, "monetary"] == pytest.approx(25.50)  # … nor spend: RFM monetary is net
    assert customers.loc[CANCELLED_BUYER, "abc_class"] == "C"
    a = st.plan.assignments
    assert a.loc[CANCELLED_BUYER, "monetary"] == pytest.approx(25.50)
    # a CLV from one £25.50 purchase: below most customers', not £589k
    assert a.loc[CANCELLED_BUYER, "value_at_stake"] < a["value_at_stake"].median()
    assert (st.value.kept_share == 1.0).all()  # every return was matched to its order: nothing left to net here
    assert CANCELLED_BUYER not in st.warnings.index  # not a "valuable customer about to leave"
    top = a.sort_values("value_at_stake", ascending=False).index[:5]
    assert CANCELLED_BUYER not in top
    # everyone's RFM monetary and the actions' net spend are their purchases minus cancellations, by hand
    np.testing.assert_allclose(a["monetary"].sort_index(), net.reindex(a.index).clip(lower=0).sort_index(), atol=0.01)
    np.testing.assert_allclose(customers["monetary"].sort_index(), net[net > 0].sort_index(), atol=0.01)
    # the wholesale order is an outlier, but a real one: it stays the biggest value at stake
    assert a["value_at_stake"].idxmax() == WHOLESALE_BUYER
    outliers = run["clean"].transactions.query("is_outlier")
    assert set(outliers["customer_id"]) == {WHOLESALE_BUYER}  # the cancelled order is netted, not flagged


def test_value_at_stake_is_a_model_or_a_run_rate_and_says_which(pipeline) -> None:
    st = pipeline("2011-12")["strategy"]
    method = pipeline("2011-12")["score"].clv_value.method
    assert st.plan.value_basis == ("run_rate" if method == "run_rate" else "clv")
    notes = " ".join(st.plan.note_texts("en"))
    assert "Returns and cancellations are netted" in notes
    sentence = st.plan.sentences("en").iloc[0]
    assert ("run-rate value at stake" if method == "run_rate" else "CLV at stake") in sentence


def test_churn_warnings_use_days_between_purchase_days(pipeline, raw) -> None:
    run = pipeline("2011-11")
    w = run["strategy"].warnings
    assert LAPSING_BUYER in w.index  # a big regular who stopped in September
    assert w.loc[LAPSING_BUYER, "late"] and w.loc[LAPSING_BUYER, "usual_gap_days"] == 14.0
    lines = hand_lines(raw)
    bought = lines[~lines["cancelled"] & lines["customer"].notna() & (lines["day"] <= "2011-11-30")]
    for cid, row in w.head(5).iterrows():
        days = np.sort(bought.loc[bought["customer"] == cid, "day"].unique())
        gaps = np.diff(days).astype("timedelta64[D]").astype(int)
        assert row["usual_gap_days"] == (np.median(gaps) if len(gaps) else np.nan)
        assert row["usual_gap_days"] > 0  # never "usually buys every 0 days"


def test_segment_kpis_follow_last_periods_customers(pipeline, raw) -> None:
    """Retention of a segment = of last period's buyers in it (segments as scored at October's end), the share who
    bought again in November: computed by hand from the purchase days."""
    run = pipeline("2011-11")
    before = run["score"].previous
    known = hand_kept_lines(raw)  # a cancelled purchase is no purchase
    # November's 30 days are compared with October's first 30 (analysis.window.equal_window): 1-30 Oct
    nov = set(known.loc[known["day"].between("2011-10-01", "2011-10-30"), "customer"])
    dec = set(known.loc[known["day"].between("2011-11-01", "2011-11-30"), "customer"])
    kpis = run["segments"].kpi_by_segment
    checked = 0
    for segment, members in before.groupby("segment").groups.items():
        buyers = nov & set(members)
        if not buyers:
            continue
        assert kpis.loc[segment, "retention_rate"] == pytest.approx(len(buyers & dec) / len(buyers))
        checked += 1
    assert checked >= 3


def test_partial_last_month_is_scored_to_the_data_and_compared_day_for_day(pipeline, raw) -> None:
    """The export ends on 9 December: December is 9 of 31 days, compared with 1–9 November."""
    run = pipeline("2011-12")
    w, head = run["window"], run["summary"].headline
    assert w.as_of == pd.Timestamp("2011-12-09") and (head["days"], head["period_days"]) == (9, 31)
    assert run["score"].customers["recency_days"].min() == 0  # bought on the data's last day: 0 days, not 22
    kpis = run["summary"].headline_kpis
    this, before = hand_revenue(raw, "2011-12-01", "2011-12-09"), hand_revenue(raw, "2011-11-01", "2011-11-09")
    assert kpis.loc["revenue", "this_period"] == pytest.approx(this)
    assert kpis.loc["revenue", "previous"] == pytest.approx(before)
    assert kpis.loc["revenue", "change"] == pytest.approx(this / before - 1)


def test_flagged_orders_are_shown_apart(pipeline, raw) -> None:
    """December's gross sales are £169,732.70, of which £168,469.60 is one order cancelled minutes later: netted, it
    is no longer an order to flag. November's genuine £60,000 wholesale order is flagged and shown apart."""
    kept = hand_kept_lines(raw)
    for period, first, last, flagged in (("2011-12", "2011-12-01", "2011-12-09", 0),
                                         ("2011-11", "2011-11-01", "2011-11-30", 1)):  # fmt: skip
        head = pipeline(period)["summary"].headline
        in_period = kept["day"].between(first, last)
        big = kept["value"] >= 50_000  # the wholesale order, the only one the cleaning flags that is kept
        assert head["revenue_period"] == pytest.approx(kept.loc[in_period, "value"].sum())
        assert head["revenue_period"] == pytest.approx(hand_revenue(raw, first, last))
        assert head["revenue_gross"] == pytest.approx(hand_gross(raw, first, last))
        assert head["returns"] == pytest.approx(hand_gross(raw, first, last) - hand_revenue(raw, first, last))
        assert head["revenue_unflagged"] == pytest.approx(kept.loc[in_period & ~big, "value"].sum())
        assert head["flagged_orders"] == flagged
    assert pipeline("2011-12")["summary"].headline["returns"] >= 168_469.60


def test_short_history_has_no_year_ago_comparison(pipeline) -> None:
    """The data starts on 1 March 2011: October 2010 is not 'zero revenue', it is unknown, and the report says so."""
    summary = pipeline("2011-10")["summary"]
    assert summary.headline_kpis["year_ago"].isna().all()
    assert "data starts 2011-03-01" in " ".join(summary.unavailable_text("en").values())


def test_without_clv_value_at_stake_is_a_labelled_run_rate_never_all_time_spend(tmp_path: Path, raw) -> None:
    params = retail_params(write_retail_log(tmp_path / "retail.csv"), clv={"enabled": False})
    c = stages.cleaned(clean_source(params), "2011-11")
    w = stages.run_window("2011-11", c, params)
    s = stages.score(c.transactions, params, w.as_of, w.start, data_start=c.data_start, clv_check=False)
    st = stages.strategy(c.transactions, s, params, "2011-11", returns=c.returns, window=w)
    assert isinstance(s.clv, stages.Missing) and st.plan.value_basis == "run_rate"
    a = st.plan.assignments
    net = hand_net_spend(raw, "2011-11-30")
    # the run-rate estimate over the CLV horizon (analysis.clv.run_rate), never all-time spend: a new customer with
    # one purchase gets the population's repeat rate (shrinkage), so one year ahead may exceed months of history
    from analysis.clv.run_rate import run_rate_value

    clv = params.clv
    rr = run_rate_value(c.transactions, w.as_of, clv.time_unit, clv.horizon, clv.discount_rate).customers["clv"]
    kept = st.plan.assignments.get("kept_share", pd.Series(1.0, index=a.index))
    assert a["value_at_stake"].to_numpy() == pytest.approx((rr.reindex(a.index) * kept).to_numpy(), rel=1e-9)
    assert ((a["value_at_stake"] - net.reindex(a.index)).abs() > 0.01).mean() > 0.95  # not all-time spend
    notes = " ".join(st.plan.note_texts("en"))
    assert "run-rate estimate over 52 weeks" in notes and "not all-time spend" in notes
    assert "run-rate value at stake" in st.plan.sentences("en").iloc[0]


def test_clv_is_checked_and_names_its_method(pipeline) -> None:
    """Issue 18, item 6 on the invoice-shaped log: the model check runs where the history allows it and shows its
    numbers (the purchase model beside the run-rate fallback), and every CLV figure names its method."""
    from analysis.clv.selection import holdout_window

    run = pipeline("2011-12")
    s, w, c = run["score"], run["window"], run["clean"]
    params = retail_params(Path("retail.csv"))  # the run's params (the check does not read the source)
    check = stages._clv_check(c.transactions, w.as_of, params, s.clv_value.penalizer_choice)
    # March to 9 December: 283 days of history, so 140 days (20 weeks, half the history) are held back
    assert holdout_window(c.transactions["order_date"].min(), w.as_of)[0] == pd.Timestamp("2011-07-22")
    assert isinstance(check, stages.CLVCheck), check.reason("en")
    table = check.by_frequency()
    assert table["customers"].sum() == check.errors["customers"] > 0
    assert check.errors["actual_total"] == check.run_rate_errors["actual_total"] > 0
    assert table[["holdout_actual", "holdout_expected", "holdout_expected_run_rate"]].notna().all().all()
    headline = run["summary"].headline
    assert headline["clv_method"] == s.clv_value.method
    row = run["summary"].measures.set_index("measure").loc["clv_total"]
    assert row["note"] == f"Method: {headline['clv_method_name']}." and row["start"] == "2011-12-10"
