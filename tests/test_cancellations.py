"""Net revenue first (issue 18 item 2): cancellations matched to the orders they undo, and every money figure net.

A fifteen-row invoice export shaped like the UK online retailer's (``C…`` cancellation invoices with negative
quantities, ``M/D/YYYY H:MM`` stamps, ids read through a spreadsheet as ``12346.0``, ``(blank)`` for a walk-in
buyer). The data start on 1 Nov 2011 and end on 9 Dec 2011, so December is 1-9 Dec against 1-9 Nov. Every expected
figure below is computed by hand from the rows (see :data:`ROWS`):

==========  ======================================================================================================
12346       25.00 on 5 Nov; 20.00 + 2.00 on 2 Dec, of which 10.00 returned on 3 Dec (a partial return)
12347       15.00 on 3 Nov; a genuine 60,000.00 wholesale order on 7 Dec (an outlier, kept)
13047       9.00 on 4 Nov; on 5 Dec returns 18.00 of goods bought before the data (no order covers it), then buys 12.00
16446       2.90 on 1 Nov; a 168,469.60 order on 9 Dec cancelled 12 minutes later
17850       12.00 on 4 Dec, cancelled 20 minutes later: cancelled everything
14000       50.00 on 6 Dec; on 7 Dec returns 80.00 of goods bought before the data: net spend ≤ 0
(blank)     20.00 on 6 Dec: a sale without a customer id
==========  ======================================================================================================

1-9 Dec: gross 20 + 2 + 12 + 12 + 60,000 + 168,469.60 + 50 = 228,565.60; matched returns 10 + 12 + 168,469.60; the
unmatched 18.00 + 80.00 lower the period they occur in: net = 228,565.60 − 168,491.60 − 98 = 59,976.00, returns
168,589.60.
1-9 Nov: 25 + 15 + 9 + 2.90 = 51.90, nothing returned.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import stages
from analysis.data.cancellations import MATCH_RULES, check_conserved, match_returns, net_log, unmatched
from analysis.data.clean import clean_transactions
from analysis.params import parse_params
from tests.acceptance.retail import MAPPING

COLUMNS = ["InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]
ROWS = [
    ["536365", "S1", "10", "11/5/2011 9:00", "2.50", "12346.0", "United Kingdom"],
    ["536366", "S2", "6", "11/3/2011 9:00", "2.50", "12347.0", "United Kingdom"],
    ["536367", "S3", "3", "11/4/2011 9:00", "3.00", "13047.0", "United Kingdom"],
    ["536368", "S4", "1", "11/1/2011 9:00", "2.90", "16446.0", "United Kingdom"],
    ["536370", "S5", "4", "12/2/2011 9:00", "5.00", "12346.0", "United Kingdom"],
    ["536370", "S6", "2", "12/2/2011 9:00", "1.00", "12346.0", "United Kingdom"],
    ["C536371", "S5", "-2", "12/3/2011 10:00", "5.00", "12346.0", "United Kingdom"],
    ["536372", "S7", "3", "12/4/2011 9:00", "4.00", "17850.0", "United Kingdom"],
    ["C536373", "S7", "-3", "12/4/2011 9:20", "4.00", "17850.0", "United Kingdom"],
    ["C536374", "S3", "-6", "12/5/2011 11:00", "3.00", "13047.0", "United Kingdom"],
    ["536375", "S8", "8", "12/5/2011 12:00", "1.50", "13047.0", "United Kingdom"],
    ["536376", "S9", "2", "12/6/2011 9:00", "10.00", "(blank)", "United Kingdom"],
    ["536377", "S10", "12000", "12/7/2011 9:00", "5.00", "12347.0", "United Kingdom"],
    ["581483", "S11", "80995", "12/9/2011 9:00", "2.08", "16446.0", "United Kingdom"],
    ["C581484", "S11", "-80995", "12/9/2011 9:12", "2.08", "16446.0", "United Kingdom"],
    ["536380", "S12", "5", "12/6/2011 10:00", "10.00", "14000.0", "United Kingdom"],
    ["C536381", "S13", "-8", "12/7/2011 10:00", "10.00", "14000.0", "United Kingdom"],
]
PERIOD = "2011-12"


def _params():
    return parse_params(
        {
            "title": "cancellations",
            "currency": "£",
            "source": {"format": "sample"},
            "columns": MAPPING,
            "cleaning": {"date_format": "%m/%d/%Y %H:%M", "cancelled_prefix": "C"},
            "clv": {"enabled": False},
            "experiment": {"enabled": False},
            "periods": {"start": PERIOD, "end": PERIOD},
        }
    )


@pytest.fixture(scope="module")
def run() -> dict:
    params = _params()
    result = clean_transactions(pd.DataFrame(ROWS, columns=COLUMNS), MAPPING, params.cleaning, origin="export.csv")
    c = stages.cleaned(result, PERIOD)
    w = stages.run_window(PERIOD, c, params)
    s = stages.score(
        c.transactions, params, w.as_of, w.start, data_start=c.data_start, clv_check=False, returns=c.returns
    )
    seg = stages.segment_analysis(c.transactions, s, params, PERIOD, window=w)
    strat = stages.strategy(c.transactions, s, params, PERIOD, returns=c.returns, window=w)
    summary = stages.summary(c, s, seg, strat, params, PERIOD, window=w)
    return {"result": result, "clean": c, "score": s, "segments": seg, "strategy": strat, "summary": summary}


def test_each_return_is_matched_to_the_order_it_undoes(run) -> None:
    r = run["result"].returns.set_index("order_id")
    assert r.loc["C536371", "match"] == "product"  # 2 of the 4 items at £5.00 of order 536370
    assert r.loc["C536373", "match"] == "product" and r.loc["C581484", "match"] == "product"
    assert r.loc["C536374", "match"] == "unmatched"  # £18 of goods bought before the data: nothing covers it
    assert r.loc["C536374", "amount_unmatched"] == pytest.approx(18.0)
    q = run["result"].quality["returns_matched"]
    assert q["rows"] == 5 == sum(q[rule] for rule in MATCH_RULES)  # every return row counted once
    assert (q["value_matched"], q["value_unmatched"]) == (pytest.approx(168_491.60), pytest.approx(98.0))
    assert (q["lines_cancelled"], q["orders_cancelled"]) == (2, 2)  # 536372 and 581483 are no longer orders
    q_all = run["result"].quality
    assert q_all["rows_in"] == len(ROWS) == q_all["rows_clean"] + q_all["rows_quarantined"]


def test_headline_revenue_is_net_with_gross_and_returns_beside_it(run) -> None:
    head = run["summary"].headline
    assert head["revenue_period"] == pytest.approx(59_976.00)
    assert head["revenue_gross"] == pytest.approx(228_565.60)
    assert head["returns"] == pytest.approx(168_589.60)
    table = run["summary"].headline_kpis
    assert table.loc["revenue", "this_period"] == pytest.approx(59_976.00)
    assert table.loc["revenue", "previous"] == pytest.approx(51.90)
    assert table.loc["revenue_gross", "this_period"] == pytest.approx(228_565.60)
    assert table.loc["returns", "this_period"] == pytest.approx(168_589.60)
    assert table.loc["orders", "this_period"] == 4  # 536370, 536375, 536377, 536380: cancelled orders are none
    assert table.loc["customers", "this_period"] == 4  # 12346, 13047, 12347, 14000: 16446 and 17850 kept nothing
    measures = run["summary"].measures.set_index(["measure", "window"])["value"]
    assert measures[("revenue", "this")] == "59976.00"
    assert measures[("revenue_gross", "this")] == "228565.60"
    assert measures[("returns", "this")] == "168589.60"
    assert measures[("returns", "previous")] == "0.00"
    assert any("£228,566 sold, £168,590 returned or cancelled, £59,976 net" in n for n in run["summary"].notes)


def test_the_outlier_sensitivity_leaves_out_only_the_genuine_order_it_names(run) -> None:
    """The £168k order was cancelled: netted, not flagged. The £60,000 wholesale order is flagged and named."""
    head = run["summary"].headline
    assert head["flagged_orders"] == 1
    assert head["revenue_unflagged"] == pytest.approx(59_976.00 - 60_000.00)
    note = next(n for n in run["summary"].notes if "leaves out exactly this order" in n)
    assert "£60,000.00 (order 536377)" in note and "581483" not in note


def test_rfm_monetary_tiers_and_value_lists_are_net(run) -> None:
    customers = run["score"].customers
    # 17850 cancelled everything: no customer
    assert set(customers.index) == {"12346", "12347", "13047", "14000", "16446"}
    assert customers["monetary"].to_dict() == pytest.approx(
        {"12346": 25 + 10 + 2, "12347": 15 + 60_000, "13047": 9 + 12, "14000": 50, "16446": 2.90}
    )
    assert customers["frequency"].to_dict() == {"12346": 2, "12347": 2, "13047": 2, "14000": 1, "16446": 1}
    # ABC on net spend (total 60,125.90): 12347 alone crosses 80 %; everyone after starts above 95 %
    assert customers["abc_class"].to_dict() == {"12346": "C", "12347": "A", "13047": "C", "14000": "C", "16446": "C"}
    a = run["strategy"].plan.assignments
    assert "17850" not in a.index and "17850" not in run["strategy"].warnings.index
    assert a["value_at_stake"].idxmax() == "12347"
    # 13047's £18 return matched no order: it is netted from his spend in the value at stake (21 − 18 = 3)
    assert run["strategy"].value.monetary_net["13047"] == pytest.approx(3.0)
    assert a.loc["16446", "monetary"] == pytest.approx(2.90)
    # 14000 returned more than he bought in the window (50 − 80 < 0): no spend, no value at stake, no warning
    assert run["strategy"].value.monetary_net["14000"] == 0.0 and a.loc["14000", "value_at_stake"] == 0.0
    assert "14000" not in run["strategy"].warnings.index


def scored_december(raw: pd.DataFrame):
    """``raw`` cleaned and scored for December 2024 (CLV, experiment and its CLV check off): the params, the
    cleaning's result, the cleaned stage, the run's window and the score stage, as the batch makes them."""
    params = parse_params(
        {"title": "t", "source": {"format": "sample"}, "clv": {"enabled": False}, "experiment": {"enabled": False},
         "periods": {"start": "2024-12", "end": "2024-12"}}
    )  # fmt: skip
    result = clean_transactions(raw, params=params.cleaning)
    c = stages.cleaned(result, "2024-12")
    w = stages.run_window("2024-12", c, params)
    s = stages.score(
        c.transactions, params, w.as_of, w.start, data_start=c.data_start, clv_check=False, returns=c.returns
    )
    return params, result, c, w, s


def test_net_spend_at_or_below_zero_is_never_top_value() -> None:
    """x bought £100 (alone tier A by RFM monetary) and returned £150 of goods bought before the data: net spend ≤ 0,
    so x is tier C — one tier everywhere: customers.csv, the segments' ABC table, the ABC KPIs and the actions —
    and has no value at stake. y (10) and z (5): y crosses 80 % of 15 alone (A), z starts at 10/15 < 95 % (B)."""
    raw = pd.DataFrame(
        {"customer_id": ["x", "y", "z", "x"], "order_id": ["1", "2", "3", "C4"],
         "order_date": ["2024-12-02", "2024-12-03", "2024-12-06", "2024-12-05"], "amount": ["100", "10", "5", "-150"]}
    )  # fmt: skip
    params, result, c, w, s = scored_december(raw)
    assert result.returns["match"].tolist() == ["unmatched"]  # no order of x covers £150
    assert s.customers["abc_class"].to_dict() == {"x": "C", "y": "A", "z": "A"}
    seg = stages.segment_analysis(c.transactions, s, params, "2024-12", window=w)
    assert seg.abc_summary["customers"].to_dict() == {"A": 2, "B": 0, "C": 1}
    strat = stages.strategy(c.transactions, s, params, "2024-12", returns=c.returns, window=w)
    a = strat.plan.assignments
    assert a.loc["x", "abc_class"] == "C" and a.loc["x", "value_at_stake"] == 0.0
    assert strat.value.monetary_net["x"] == 0.0 and "x" not in strat.warnings.index
    assert c.revenue_period == pytest.approx(100 + 10 + 5 - 150)  # the return lowers the month it occurs in


def test_a_return_after_the_last_purchase_day_lowers_that_windows_net_revenue() -> None:
    """December's data: x £100 on 2 Dec, y £10 on 3 Dec, then on 12 Dec y returns £30 of goods bought before the data
    (unmatched). The data end on 12 December, the last row of the export: the month to date runs 1-12 Dec and its net
    revenue is 100 + 10 − 30 = 80."""
    raw = pd.DataFrame(
        {"customer_id": ["x", "y", "y"], "order_id": ["1", "2", "C3"],
         "order_date": ["2024-12-02", "2024-12-03", "2024-12-12"], "amount": ["100", "10", "-30"]}
    )  # fmt: skip
    params = parse_params(
        {"title": "t", "source": {"format": "sample"}, "clv": {"enabled": False}, "experiment": {"enabled": False},
         "periods": {"start": "2024-12", "end": "2024-12"}}
    )  # fmt: skip
    c = stages.cleaned(clean_transactions(raw, params=params.cleaning), "2024-12")
    w = stages.run_window("2024-12", c, params)
    assert c.data_end == pd.Timestamp("2024-12-12") and w.as_of == pd.Timestamp("2024-12-12")
    assert c.money(w.start, w.as_of) == {"gross": 110.0, "returns": 30.0, "net": 80.0}


def test_the_evaluation_measures_net_revenue(run) -> None:
    from analysis.strategy.experiment import measure_uplift

    groups = pd.DataFrame(
        {"action": ["vip", "vip", "vip", "vip"], "group": ["treatment", "treatment", "control", "control"],
         "period": ["2011-11"] * 4},
        index=pd.Index(["16446", "17850", "12346", "13047"], name="customer_id"),
    )  # fmt: skip
    res = measure_uplift(groups, run["clean"].transactions, "2011-12-01", "2011-12-09").set_index("action")
    # the treated bought 168,469.60 and 12.00 and cancelled both: nothing earned
    assert res.loc["vip", "treated_revenue_per_customer"] == 0.0
    assert res.loc["vip", "control_revenue_per_customer"] == pytest.approx((12.0 + 12.0) / 2)


def test_cdnow_like_log_without_returns_is_unchanged() -> None:
    """No returns: the net log is the clean log itself, and the gross equals the net."""
    raw = pd.DataFrame({"customer_id": ["a", "b", "a"], "order_date": ["2024-01-01", "2024-01-02", "2024-02-01"],
                        "amount": ["10", "20", "5"]})  # fmt: skip
    res = clean_transactions(raw)
    assert res.net() is res.clean and res.allocations.empty
    c = stages.cleaned(res, "2024-02")
    assert c.money(pd.Timestamp("2024-01-01"), pd.Timestamp("2024-02-29")) == {"gross": 35.0, "returns": 0.0,
                                                                               "net": 35.0}  # fmt: skip


def test_cdnow_numbers_are_unchanged() -> None:
    """The bundled CDNOW log has no returns: the run's net log is its purchases as cleaned, and net = gross = the
    sum of June 1998's dollars in the file as published."""
    from analysis.data.store import clean_source
    from analysis.datasets import load_cdnow_sample
    from analysis.params import load_params
    from tests.conftest import ROOT

    result = clean_source(load_params(ROOT / "params" / "cdnow.yaml"))
    assert result.quality["returns_matched"]["rows"] == 0 and result.allocations.empty
    c = stages.cleaned(result, "1998-06")
    pd.testing.assert_frame_equal(c.transactions, c.gross)
    raw = load_cdnow_sample()
    june = raw[pd.to_datetime(raw["date"], format="%Y%m%d").between("1998-06-01", "1998-06-30")]
    dollars = round(float(june["dollars"].astype(float).sum()), 2)
    assert c.money(pd.Timestamp("1998-06-01"), pd.Timestamp("1998-06-30")) == pytest.approx(
        {"gross": dollars, "returns": 0.0, "net": dollars}
    )
    assert c.revenue_period == pytest.approx(dollars)


# ---------------------------------------------------------------------------------------------- properties

_money = st.integers(min_value=1, max_value=50_000).map(lambda cents: cents / 100)


def _stamp(draw) -> pd.Timestamp:
    return pd.Timestamp("2024-01-01") + pd.Timedelta(hours=draw(st.integers(0, 240)))


@st.composite
def _logs(draw) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Purchases and returns of up to 3 customers over 10 days, returns of any size (some of them matching)."""
    n = draw(st.integers(1, 12))
    clean = pd.DataFrame(
        {
            "customer_id": [draw(st.sampled_from("abc")) for _ in range(n)],
            "order_id": [f"o{draw(st.integers(0, 5))}" for _ in range(n)],
            "order_date": pd.to_datetime([_stamp(draw) for _ in range(n)]),
            "amount": [draw(_money) for _ in range(n)],
            "unit_price": [draw(st.sampled_from([1.0, 2.5])) for _ in range(n)],
        }
    )
    clean["row_id"] = range(n)
    m = draw(st.integers(0, 8))
    returns = pd.DataFrame(
        {
            "row_id": range(n, n + m),
            "customer_id": [draw(st.sampled_from("abcd")) for _ in range(m)],
            "order_id": [draw(st.sampled_from(["o1", "o2", "C9", None])) for _ in range(m)],
            "order_date": pd.to_datetime([_stamp(draw) for _ in range(m)]),
            "amount": [draw(st.one_of(_money, st.sampled_from(list(clean["amount"])))) for _ in range(m)],
            "unit_price": [draw(st.sampled_from([1.0, 2.5])) for _ in range(m)],
        }
    )
    return clean, returns


def test_a_return_of_one_product_is_never_netted_against_another() -> None:
    """x bought product P for £50 and returns product Q for £50 (a credit note with a number of its own): no open
    line of Q, so the return stays unmatched (it was netted against the P order by customer and amount). Without
    product columns the same return is matched by customer and amount."""
    clean = pd.DataFrame(
        {"customer_id": ["x"], "order_id": ["1"], "order_date": pd.to_datetime(["2024-12-02"]), "amount": [50.0],
         "product_line": ["P"], "row_id": [0]}
    )  # fmt: skip
    returns = pd.DataFrame(
        {"row_id": [1], "customer_id": ["x"], "order_id": ["C2"], "order_date": pd.to_datetime(["2024-12-05"]),
         "amount": [50.0], "product_line": ["Q"]}
    )  # fmt: skip
    m = match_returns(clean, returns)
    assert m.returns["match"].tolist() == ["unmatched"] and m.allocations.empty
    assert m.returns["amount_unmatched"].tolist() == [50.0]
    bare = match_returns(clean.drop(columns="product_line"), returns.drop(columns="product_line"))
    assert bare.returns["match"].tolist() == ["amount"] and bare.allocations["amount"].tolist() == [50.0]


@settings(max_examples=60, deadline=None)
@given(_logs())
def test_matching_conserves_money_and_rows(log) -> None:
    clean, returns = log
    m = match_returns(clean, returns)
    net = net_log(clean, m.returns, m.allocations)
    check_conserved(clean, m, net)
    assert len(m.returns) == len(returns) and m.returns["match"].isin(MATCH_RULES).all()  # no row lost
    # net log + unmatched returns account for gross − returns, to the cent
    assert float(net["amount"].sum()) - float(unmatched(m.returns)["amount"].sum()) == pytest.approx(
        float(clean["amount"].sum()) - float(returns["amount"].sum()), abs=1e-6
    )
    assert (net["amount"] >= 0).all() and set(net["row_id"]) <= set(clean["row_id"])
    # a return only ever nets an earlier purchase of the same customer
    if len(m.allocations):
        joined = m.allocations.merge(clean, left_on="purchase_row_id", right_on="row_id").merge(
            returns, left_on="return_row_id", right_on="row_id", suffixes=("_p", "_r")
        )
        assert (joined["customer_id_p"] == joined["customer_id_r"]).all()
        assert (joined["order_date_p"] <= joined["order_date_r"]).all()
        # a return naming a product (unit_price stands in) nets only that product, unless it names the order
        by_order = joined["order_id_p"] == joined["order_id_r"]
        assert (by_order | (joined["unit_price_p"] == joined["unit_price_r"])).all()
    # matching a log cut at any day is the matching of the whole log restricted to it
    cut = pd.Timestamp("2024-01-05")
    early = match_returns(clean[clean["order_date"] <= cut], returns[returns["order_date"] <= cut])
    whole = m.returns.set_index("row_id").loc[early.returns["row_id"], "match"].tolist()
    assert early.returns["match"].tolist() == whole
