"""Customer attributes as report dimensions: segment × attribute tables and the province → city drill-down on a
hand-made set of five customers, small cells suppressed, data escaped in the drill-down's HTML."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.grading import attributes as attrs
from analysis.grading import view

START = pd.Timestamp("2024-11-01")  # the period: November 2024


def _customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "segment": ["Champions", "Champions", "Lost", "Lost", "Lost"],
            "monetary": [100.0, 300.0, 50.0, 10.0, 40.0],
            "first_purchase": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-11-05", "2023-01-01", "2024-03-01"]),
            "last_purchase": pd.to_datetime(["2024-11-10", "2024-10-01", "2024-11-05", "2023-05-01", "2024-03-01"]),
        },
        index=pd.Index(list("abcde"), name="customer_id"),
    )


ATTRIBUTES = pd.DataFrame(
    {
        "customer_id": ["a", "b", "c", "d", "zz"],  # e has no row; zz is no customer of this run (another region)
        "province": ["Zhejiang", "Zhejiang", "Zhejiang", "<b>Guangdong</b>", "Zhejiang"],
        "city": ["Hangzhou", "Ningbo", "Hangzhou", "Shenzhen", "Hangzhou"],
        "age_band": ["25-34", "35-44", "25-34", "<25", "25-34"],
    }
)


def test_attribute_tables_by_hand_with_small_cells_suppressed() -> None:
    t = attrs.attribute_tables(_customers(), ATTRIBUTES, START, None, min_customers=2)
    assert list(t.tables) == ["age_band", "province"]
    prof = t.tables["province"]["profile"]
    # Zhejiang: a, b, c (zz is not this run's customer) → 3 of 5; spend (100 + 300 + 50) / 3 = 150;
    # retention: a and b first bought before November, a bought in it → 1/2
    z = prof.loc["Zhejiang"]
    assert z["customers"] == 3 and z["customer_share"] == pytest.approx(0.6)
    assert z["spend_per_customer"] == pytest.approx(150.0) and z["retention"] == pytest.approx(0.5)
    assert not z["small"]
    # Guangdong (d) and (missing) (e): one customer each, below 2 → counts kept, figures blank, marked
    for small in ("<b>Guangdong</b>", attrs.MISSING):
        row = prof.loc[small]
        assert row["customers"] == 1 and row["small"]
        assert np.isnan(row["spend_per_customer"]) and np.isnan(row["retention"])
    assert prof["customers"].sum() == 5  # every customer of the run, nobody else
    seg = t.tables["province"]["segments"]
    assert seg.loc["Zhejiang", "Champions"] == pytest.approx(2 / 3) and seg.loc["Zhejiang", "Lost"] == pytest.approx(
        1 / 3
    )
    assert np.isnan(seg.loc["<b>Guangdong</b>", "Lost"])
    # the drill-down: Zhejiang / Hangzhou holds a and c: spend 75, retention 1/1 (c is new); Ningbo (b) is small
    d = t.drill
    hz = d.loc[("Zhejiang", "Hangzhou")]
    assert hz["customers"] == 2 and hz["spend_per_customer"] == pytest.approx(75.0) and hz["retention"] == 1.0
    assert d.loc[("Zhejiang", "Ningbo"), "small"]


def test_the_dimensions_param_and_the_drill_down_html() -> None:
    only_age = attrs.attribute_tables(_customers(), ATTRIBUTES, START, ["age_band"], min_customers=2)
    assert list(only_age.tables) == ["age_band"] and only_age.drill is None
    t = attrs.attribute_tables(_customers(), ATTRIBUTES, START, None, min_customers=2)
    html = view.drill_html(t.drill, 2, "en", "¥")
    assert html.count("<details>") == 3  # Zhejiang, Guangdong, (missing)
    assert "<summary>Zhejiang: 3 customers in 2 cities</summary>" in html
    assert "<b>Guangdong</b>" not in html and "&lt;b&gt;Guangdong&lt;/b&gt;" in html  # data never becomes markup
    assert "fewer than 2 customers: figures not shown" in html
    assert "Zhejiang：3 位客户，2 个城市" in view.drill_html(t.drill, 2, "zh", "¥")
    shown = view.attribute_view(t.tables["age_band"]["profile"], 2, "en")
    assert "small" not in shown.columns and shown.loc["25-34", "note"] == ""
    html = view.styled_attribute(t.tables["province"]["profile"], 2, "en", "¥").to_html()
    assert ">¥150<" in html and ">50.0%<" in html and ">60.0%<" in html  # spend, retention, share as a reader reads
    zh = view.styled_attribute(t.tables["province"]["segments"], 2, "zh", "¥").to_html()
    assert ">66.7%<" in zh and "客户少于 2 位：不显示数值" in zh


def test_graded_kpis_by_attribute_on_a_tiny_log() -> None:
    """November 2024 of a four-customer log: a (Zhejiang) bought 50 on 5 Oct and 100 on 10 Nov, b (Zhejiang) 30 on
    20 Nov, c (Guangdong) 10 on 1 Sep and 40 on 15 Oct, d (no attributes row) 20 on 2 Nov. The data start in
    September, so the previous window (October) is covered; a year ago is not."""
    from analysis import stages
    from analysis.data.clean import CleanResult
    from analysis.params import parse_params
    from tests.conftest import tx

    log = tx([("c", "o0", "2024-09-01", 10), ("a", "o1", "2024-10-05", 50), ("a", "o2", "2024-11-10", 100),
              ("b", "o3", "2024-11-20", 30), ("c", "o4", "2024-10-15", 40), ("d", "o5", "2024-11-02", 20)])  # fmt: skip
    log = log.assign(is_outlier=False, row_id=range(len(log)))
    res = CleanResult(clean=log, quarantine=pd.DataFrame(), returns=log.iloc[:0], quality={})
    table = pd.DataFrame({"customer_id": ["a", "b", "c"], "province": ["Zhejiang", "Zhejiang", "Guangdong"]})
    got = {}
    for small in (1, 2):
        params = parse_params({"periods": {"start": "2024-11", "end": "2024-11"}, "clv": {"enabled": False},
                               "report": {"min_customers": small}})  # fmt: skip
        clean = stages.cleaned(res, "2024-11")
        window = stages.run_window("2024-11", clean, params)
        scored = stages.score(clean.transactions, params, window.as_of, window.start, clv_check=False)
        seg = stages.segment_analysis(clean.transactions, scored, params, "2024-11", window=window, attributes=table)
        got[small] = seg.kpi_by_attribute["province"]
    k = got[2]
    # Zhejiang in November: a's 100 and b's 30 → revenue 130, 2 orders, 2 buyers, b new; a bought in October too and
    # again in November → retention 1/1
    z = k.loc["Zhejiang"]
    assert (z["revenue"], z["orders"], z["customers"], z["new_customers"]) == (130.0, 2, 2, 1)
    assert z["retention_rate"] == pytest.approx(1.0) and not z["small"]
    # (missing): d alone (20) and Guangdong (no November buyer) rest on fewer than 2 customers: blank and marked
    assert k.loc[attrs.MISSING, "small"] and np.isnan(k.loc[attrs.MISSING, "revenue"])
    assert k.loc["Guangdong", "small"] and k.loc["Guangdong", "customers"] == 0
    assert k.loc["(all)", "revenue"] == 150.0 and np.isnan(z["revenue_yoy_growth"])  # no data a year ago
    assert got[1].loc[attrs.MISSING, "revenue"] == 20.0  # with a limit of 1 customer it is shown
