"""Experiment results that would alarm without context (issue 22 item 2): an uplift or ROI resting on fewer than
``experiment.min_group_orders`` orders or customers in a group is marked not reliable, with the reason, in
action_results.csv and the report's tables and chart, instead of being shown as a headline percentage."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
from bs4 import BeautifulSoup

from analysis.report.experiment import response_table, revenue_table
from analysis.report.tables import styled
from analysis.strategy.experiment import measure_uplift, with_reliability

WINDOW = ("2024-12-01", "2024-12-31")


def _groups() -> pd.DataFrame:
    """Three actions of 40 treated customers each: ``one`` with 40 held out, ``fine`` with 40, ``tiny`` with 3."""
    rows = []
    for action, held in (("one", 40), ("fine", 40), ("tiny", 3)):
        rows += [(f"{action}-t{i}", action, "treatment") for i in range(40)]
        rows += [(f"{action}-c{i}", action, "control") for i in range(held)]
    g = pd.DataFrame(rows, columns=["customer_id", "action", "group"]).set_index("customer_id")
    return g.assign(period="2024-11", budget_per_customer=1.0, uplift_rate=0.05)


def _orders(customers: list[str], amount: float, per_customer: int = 1) -> list[dict]:
    return [
        {"customer_id": c, "order_id": f"{c}-{k}", "order_date": pd.Timestamp("2024-12-10") + pd.Timedelta(days=k),
         "amount": amount}
        for c in customers for k in range(per_customer)
    ]  # fmt: skip


def _transactions() -> pd.DataFrame:
    rows = _orders(["one-t0"], 10_000.0)  # the whole treatment group's revenue: one order
    rows += _orders([f"one-c{i}" for i in range(6)], 20.0)
    rows += _orders([f"fine-t{i}" for i in range(12)], 30.0) + _orders([f"fine-c{i}" for i in range(6)], 30.0)
    rows += _orders([f"tiny-t{i}" for i in range(10)], 30.0) + _orders([f"tiny-c{i}" for i in range(3)], 30.0, 2)
    rows.append(
        {"customer_id": "one-t2", "order_id": "before", "order_date": pd.Timestamp("2024-11-20"), "amount": 900.0}
    )  # fmt: skip  (before the window: not counted)
    return pd.DataFrame(rows)


def test_results_resting_on_one_order_or_three_customers_are_not_reliable() -> None:
    results = with_reliability(measure_uplift(_groups(), _transactions(), *WINDOW), 5, "en").set_index("action")
    assert results.loc["one", ["treated_orders", "control_orders"]].tolist() == [1, 6]
    assert results.loc["tiny", ["treated_orders", "control_orders"]].tolist() == [10, 6]
    # ROI from one order: (10,000 / 40 − 120 / 40) × 40 − 40 = 9,840 on a budget of 40: 24,600 %
    assert math.isclose(results.loc["one", "roi"], (10_000 - 120 - 40) / 40)
    assert results["reliable"].to_dict() == {"fine": True, "one": False, "tiny": False}
    assert results.loc["one", "reliability"] == "not reliable: 1 order in the treatment group"
    assert results.loc["tiny", "reliability"] == "not reliable: 3 customers in the control group"
    assert results.loc["fine", "reliability"] == ""
    # the threshold is a parameter: at 1 the one order is enough (the three customers too)
    lax = with_reliability(measure_uplift(_groups(), _transactions(), *WINDOW), 1, "en")
    assert lax["reliable"].all()
    zh = with_reliability(measure_uplift(_groups(), _transactions(), *WINDOW), 5, "zh").set_index("action")
    assert zh.loc["one", "reliability"] == "不可靠：干预组仅有 1 笔订单"
    assert zh.loc["tiny", "reliability"] == "不可靠：对照组仅有 3 位客户"


def test_the_report_shows_the_reason_instead_of_the_figure() -> None:
    results = with_reliability(measure_uplift(_groups(), _transactions(), *WINDOW), 5, "en")
    names = {"one": "One-order action", "fine": "Fine action", "tiny": "Tiny action"}
    revenue = revenue_table(results, names)
    html = styled(revenue, "$", money=("incremental_revenue", "budget"), language="en").to_html()
    rows = {tr.find("td").get_text(): [td.get_text() for td in tr.find_all("td")]
            for tr in BeautifulSoup(html, "html.parser").select("tbody tr")}  # fmt: skip
    assert "24,600.0%" not in html and rows["One-order action"][-1] == "not reliable: 1 order in the treatment group"
    assert rows["Fine action"][-1] == "" and "%" in rows["Fine action"][-2]  # a reliable ROI is shown
    assert math.isnan(revenue.loc["One-order action", "roi"]) and math.isnan(revenue.loc["Tiny action", "roi"])
    assert math.isnan(revenue.loc["Tiny action", "revenue_uplift"]) and revenue.loc["Tiny action", "budget"] == 40
    response = response_table(results, names)
    assert math.isnan(response.loc["One-order action", "uplift"]) and response.loc["Fine action", "uplift"] > 0
    assert response.loc["One-order action", "treated_customers"] == 40  # the groups and rates stay
    assert "reliability" in BeautifulSoup(styled(response, language="en").to_html(), "html.parser").get_text()
    # all reliable: no reliability column at all
    fine = results[results["action"] == "fine"]
    assert "reliability" not in revenue_table(fine).columns


def test_the_chart_draws_no_point_for_an_unreliable_result() -> None:
    from analysis.report.plots.experiment import plot_uplift

    results = with_reliability(measure_uplift(_groups(), _transactions(), *WINDOW), 5, "en")
    ax = plot_uplift(results, labels={"one": "One-order action"}, language="en")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert "One-order action\n(not reliable)" in labels  # the reason: in the tables' reliability column
    points = ax.containers[0].lines[0].get_ydata()  # the measured points drawn (errorbar's data line)
    assert len(points) == 1  # the fine action's only
    plt.close(ax.figure)


def test_action_results_csv_says_which_results_are_not_reliable(tmp_path: Path) -> None:
    from analysis.artifacts import write_evaluation
    from analysis.stages import Evaluation
    from analysis.strategy.experiment import learn_uplift

    results = with_reliability(measure_uplift(_groups(), _transactions(), *WINDOW), 5, "en")
    evaluation = Evaluation("2024-11", (pd.Timestamp(WINDOW[0]), pd.Timestamp(WINDOW[1])), results,
                            learn_uplift(results))  # fmt: skip
    (path,) = write_evaluation(tmp_path, evaluation, "en")
    table = pd.read_csv(path, encoding="utf-8-sig").set_index("action")
    assert table["reliable"].to_dict() == {"fine": True, "one": False, "tiny": False}
    assert table.loc["one", "reliability"] == "not reliable: 1 order in the treatment group"
    assert table.loc["one", "treated_orders"] == 1
