"""What a reader sees in each language: tables and charts on the CDNOW sample, scored as of 1997-09-30.

Labels come from the text catalog; data keep their canonical values (segments in English, value classes
by their Chinese names) and are translated only at display.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from analysis.customers import summaries
from analysis.customers.rfm import score_customers
from analysis.datasets import load_cdnow_transactions
from analysis.report import tables
from analysis.report.plots import clv as clv_plots
from analysis.report.plots import rfm as rfm_plots
from analysis.report.plots import segmentation as seg_plots
from analysis.report.plots.style import use_report_style
from analysis.strategy.actions import apply_playbook
from analysis.strategy.playbook import load_playbook


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    tx = load_cdnow_transactions()
    return score_customers(tx[tx["order_date"] <= "1997-09-30"], "1997-09-30").customers


@pytest.fixture(autouse=True)
def _style():
    use_report_style("zh")  # a CJK font, as in Chinese reports
    yield
    plt.close("all")


def _texts(ax) -> list[str]:
    legend = ax.get_legend()
    return [
        ax.get_title(),
        ax.get_xlabel(),
        ax.get_ylabel(),
        *(t.get_text() for t in ax.get_yticklabels() + ax.get_xticklabels()),
        *((t.get_text() for t in legend.get_texts()) if legend else ()),
        *((legend.get_title().get_text(),) if legend else ()),
    ]


def test_segment_table_in_chinese(customers: pd.DataFrame) -> None:
    summary = summaries.segment_summary(customers)
    assert "Champions" in summary.index  # data stay canonical
    html = tables.styled(summary, "¥", language="zh").to_html()
    assert "客户群" in html and "客户占比" in html and "冠军客户" in html
    assert "Champions" not in html and "customer_share" not in html and "share of customers" not in html
    assert html.count("<tr>") == len(summary) + 1  # one header row: no extra row for the index name
    n = int(summary.loc["Champions", "customers"])
    assert f">{n:,}<" in html  # counts as integers
    assert "¥" in html and "$" not in html


def test_segment_table_in_english(customers: pd.DataFrame) -> None:
    summary = summaries.value_class_summary(customers)
    html = tables.styled(summary, "$", language="en").to_html()
    assert "Important Value" in html and "重要价值客户" not in html
    assert "value class" in html and "days since last purchase" in html and "value_class" not in html
    revenue = summary["revenue"].iloc[0]
    assert f">${revenue:,.0f}<" in html


def test_money_dates_and_ranks_in_tables() -> None:
    frame = pd.DataFrame(
        {
            "rank": [1.0, 2.0],
            "order_date": pd.to_datetime(["2024-10-02", "2024-10-03"]),
            "net_return": [-593.0, 1234.0],
            "lifecycle_stage": ["lost", "new"],
        },
        index=pd.Index(["a", "b"], name="customer_id"),
    )
    en = tables.styled(frame, "$").to_html()
    assert ">-$593<" in en and ">$1,234<" in en and ">2024-10-02<" in en and "00:00:00" not in en
    assert ">1<" in en and "1.00" not in en  # ranks as integers
    zh = tables.styled(frame, "CNY", language="zh").to_html()
    assert ">-¥593<" in zh and ">¥1,234<" in zh and "流失" in zh and "客户编号" in zh and "生命周期阶段" in zh
    plain = tables.styled(frame).to_html()  # no currency given: no (possibly wrong) symbol
    assert ">-593<" in plain and "$" not in plain


def test_row_accounting_in_chinese() -> None:
    quality = {
        "rows_in": 10,
        "rows_clean": 7,
        "rows_quarantined": 3,
        "reasons": {"duplicate": 1, "missing_customer_id": 2},
        "outliers_flagged": 1,
        "customers": 4,
    }
    html = tables.styled(tables.quality_table(quality, "zh"), language="zh").to_html()
    for word in ("输入行数", "清洗后行数", "隔离行数", "缺少客户编号", "重复行", "标记的异常订单（保留）", "行数"):
        assert word in html
    assert "rows in" not in html and "missing_customer_id" not in html


def test_charts_in_chinese(customers: pd.DataFrame) -> None:
    fig = rfm_plots.segment_bars(summaries.segment_summary(customers), "¥", language="zh")
    words = [w for ax in fig.axes for w in _texts(ax)]
    assert "各客户群客户数" in words and "冠军客户" in words and "收入" in words
    assert "Champions" not in words and not any("Customers per" in w for w in words)
    ax = rfm_plots.rf_heatmap(customers, language="zh")
    assert ax.get_xlabel() == "F 分" and ax.get_ylabel() == "R 分"
    ax = rfm_plots.score_distribution(customers, language="zh")
    assert ax.get_title() == "各评分的客户数" and ax.get_legend().get_title().get_text() == "指标"
    ax = rfm_plots.quarantine_reasons({"reasons": {"duplicate": 3, "bad_date": 1}}, language="zh")
    assert {"重复行", "无法识别的日期"} <= set(_texts(ax))
    ax = clv_plots.plot_clv_distribution(customers.assign(clv=customers["monetary"]), language="zh", currency="¥")
    assert ax.get_xlabel() == "客户终身价值（¥）" and ax.get_ylabel() == "客户数"


def test_migration_and_lifecycle_names_translated() -> None:
    matrix = pd.DataFrame(
        [[3, 1], [0, 2]],
        index=pd.Index(["Champions", "At Risk"], name="previous"),
        columns=pd.Index(["Champions", "At Risk"], name="current"),
    )
    ax = seg_plots.migration_heatmap(matrix, language="zh")
    words = _texts(ax)
    assert "冠军客户" in words and "有流失风险客户" in words and ax.get_ylabel() == "上期"
    html = tables.styled(matrix, language="zh").to_html()
    assert "上期 \\ 本期" in html and "冠军客户" in html and "At Risk" not in html
    counts = pd.DataFrame({pd.Timestamp("2024-11-30"): [5, 2], pd.Timestamp("2024-12-31"): [4, 3]},
                          index=pd.Index(["active", "lost"], name="stage"))  # fmt: skip
    ax = seg_plots.lifecycle_chart(counts, language="zh")
    assert {"活跃", "流失", "阶段", "生命周期阶段"} <= set(_texts(ax))


def test_strategy_table_in_chinese(customers: pd.DataFrame) -> None:
    pb = load_playbook()
    plan = apply_playbook(customers, pb, currency="¥")
    html = tables.styled(tables.strategy_by_segment(plan, "zh"), "¥", language="zh").to_html()
    assert pb.segments["Champions"].action.zh in html and "冠军客户" in html and "行动" in html
    assert "reward_champions" not in html and pb.segments["Champions"].action.en not in html


def test_action_and_churn_tables_in_chinese(customers: pd.DataFrame) -> None:
    from analysis.strategy.churn import churn_warnings

    warnings = churn_warnings(customers)
    pb = load_playbook()
    plan = apply_playbook(customers, pb, warnings=warnings, currency="$")
    actions = tables.action_table(plan, "zh")
    assert list(actions.index) == list(range(1, len(actions) + 1))
    assert pb.warnings["churn_warning"].action.zh in set(actions["action"])
    assert "有流失预警的高价值客户" in set(actions["group"])
    html = tables.styled(actions, "$", language="zh").to_html()
    assert "retention_call" not in html and "优先级" in html and "对象" in html and "预算回报率" in html
    shown = tables.churn_table(warnings, "zh", n=3)
    assert len(shown) == min(3, len(warnings)) and shown["reason"].str.endswith("。").all()
    assert shown["reason"].iloc[0].startswith("A类客户：")
    html = tables.styled(shown, "$", language="zh").to_html()
    assert "距上次购买天数" in html and "原因" in html and "涉及价值" in html


def test_cluster_names_in_chinese() -> None:
    profile = pd.DataFrame({"name": ["Important Value", "Important Value 2", "Other"], "customers": [3, 2, 1]})
    html = tables.styled(profile, language="zh").to_html()
    assert "重要价值客户<" in html and "重要价值客户 2<" in html and "Other<" in html and "Important" not in html
    snake = pd.DataFrame(
        {"name": ["Important Value 2"] * 2, "feature": ["recency_days", "monetary"], "value": [0.1, 1.0]}
    )
    ax = seg_plots.snake_plot(snake, language="zh")
    words = _texts(ax)
    assert "重要价值客户 2" in words and "聚类" in words and "消费金额" in words


def test_migration_tables_and_cut_points_in_chinese() -> None:
    from analysis.customers.migration import migration

    idx = pd.Index(["a", "b", "c"], name="customer_id")
    before = pd.DataFrame({"segment": ["Champions", "At Risk", "Lost"], "monetary": [9.0, 5.0, 1.0]}, index=idx)
    now = pd.DataFrame({"segment": ["At Risk", "At Risk"], "monetary": [9.0, 6.0]}, index=idx[:2])
    m = migration(before, now, "segment")
    html = tables.styled(m.counts, language="zh").to_html()
    assert "上期客户群 \\ 本期客户群" in html and "（离开）" in html and "previous" not in html
    down = tables.styled(m.moved_down, language="zh").to_html()
    assert "上期排名" in down and "下降" in down and "rank" not in down
    cuts = pd.DataFrame({"q20": [10.0], "source": ["quantile"]}, index=pd.Index(["recency_days"], name="measure"))
    html = tables.styled(cuts, language="zh").to_html()
    assert "距上次购买天数" in html and "数据分位数" in html and "recency_days" not in html


def test_forecast_backtest_and_reasons_in_chinese() -> None:
    bt = pd.DataFrame(
        {"forecast_revenue": [120.0], "actual_revenue": [100.0], "revenue_pct_error": [0.2], "method": ["run_rate"]},
        index=pd.Index(["(all existing)"], name="segment"),
    )
    html = tables.styled(bt, "¥", language="zh").to_html()
    for word in ("全部已有客户", "预测收入", "¥120", "20.0%", "按迄今日均购买推算", "收入误差"):
        assert word in html
    reasons = pd.DataFrame({"row_id": [3]}, index=pd.Index(["bad_amount"], name="reason"))
    assert "无法识别或为零的金额" in tables.styled(reasons, language="zh").to_html()
