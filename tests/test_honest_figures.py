"""Honest headline figures on small hand-made logs (issue 10, items 2–5 and 9): what a manager reads.

* a log that starts three months before the reported month: no year-ago comparison ("n/a — data starts …"),
  and in the data's first month nobody is *new*;
* a log that ends mid-month: scored as of its last day, "data to 9 Dec 2024 (9 of 31 days)", growth against
  the same nine days;
* a log with two huge flagged orders: figures without them beside the totals, and a sentence saying that they
  drive the growth;
* every count and amount names its window; one params file's runs never overwrite another's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from analysis import context, stages
from analysis.batch.owner import OWNER_FILE, claim_output_dir
from analysis.errors import ParamsError
from analysis.params import load_params
from analysis.report.index_page import RunEntry, write_index
from analysis.strategy.executive import format_headline
from tests.conftest import ROOT

N_CUSTOMERS = 12


def _log(first: str, last: str, extra: list[dict] | None = None) -> pd.DataFrame:
    """Customer ``c<k>`` buys every ``k + 2`` days from ``first`` to ``last`` (inclusive), for 40 + k."""
    days = pd.date_range(first, last, freq="D")
    rows = []
    for k in range(N_CUSTOMERS):
        for i, day in enumerate(days[k % 3 :: k + 2]):
            rows.append(
                {
                    "customer_id": f"c{k}",
                    "order_id": f"o{k}-{i}",
                    "order_date": day.date().isoformat(),
                    "amount": 40.0 + k,
                }
            )
    return pd.DataFrame(rows + (extra or []))


def _context(folder: Path, log: pd.DataFrame, period: str, **extra) -> context.RunContext:
    log.to_csv(folder / "log.csv", index=False)
    data = {
        "title": "Honest",
        "source": {"format": "csv", "path": str(folder / "log.csv")},
        "periods": {"start": period, "end": period},
        "clv": {"enabled": False},
        "segmentation": {"cluster": {"enabled": False}},
        "output_dir": str(folder / "reports"),
        **extra,
    }
    path = folder / "honest.yaml"
    path.write_text(yaml.safe_dump(data))
    return context.setup(path, period)


def _revenue(log: pd.DataFrame, first: str, last: str) -> float:
    day = pd.to_datetime(log["order_date"])
    return float(log.loc[(day >= first) & (day <= last), "amount"].sum())


# ---------------------------------------------------------------------------------------------- missing comparisons


@pytest.fixture(scope="module")
def short_history(tmp_path_factory) -> tuple[pd.DataFrame, Path]:
    folder = tmp_path_factory.mktemp("short")
    log = _log("2024-09-01", "2024-12-31")
    return log, folder


def test_a_year_ago_before_the_data_is_na_with_the_data_start(short_history) -> None:
    log, folder = short_history
    ctx = _context(folder, log, "2024-12")
    summary = ctx.stage("summary")
    assert set(summary.unavailable) == {"year_ago"}  # the previous month has data, a year ago has none
    shown = format_headline(summary.headline_kpis, "$", "en", summary.unavailable_text("en"))
    assert (shown["a year ago"] == "n/a — data starts 2024-09-01").all()
    assert (shown["change vs a year ago"] == "n/a — data starts 2024-09-01").all()
    assert shown.loc["Revenue", "this period"] == f"${_revenue(log, '2024-12-01', '2024-12-31'):,.0f}"
    # December's 31 days against the 31 days ending on November's last day (analysis.window.equal_window)
    assert shown.loc["Revenue", "previous period"] == f"${_revenue(log, '2024-10-31', '2024-11-30'):,.0f}"
    zh = format_headline(summary.headline_kpis, "¥", "zh", summary.unavailable_text("zh"))
    assert (zh["去年同期"] == "不适用 — 数据从 2024-09-01 开始").all()
    seg = ctx.stage("segments")
    assert seg.kpi_by_segment["revenue_yoy_growth"].isna().all()  # never a change from nothing
    # the lifecycle chart starts with the data: no columns of months before it
    assert [str(c.date()) for c in seg.lifecycle.columns] == ["2024-09-30", "2024-10-31", "2024-11-30", "2024-12-31"]


def test_the_first_month_of_data_calls_nobody_new(short_history) -> None:
    log, folder = short_history
    ctx = _context(folder, log, "2024-09")
    scored = ctx.stage("score")
    assert scored.left_censored
    assert "new" not in set(scored.customers["lifecycle_stage"])
    assert (scored.customers["lifecycle_stage"] == "active").sum() == N_CUSTOMERS
    summary = ctx.stage("summary")
    assert set(summary.unavailable) == {"previous", "year_ago", "new_customers"}
    shown = format_headline(summary.headline_kpis, "$", "en", summary.unavailable_text("en"))
    assert shown.loc["New customers", "this period"] == "n/a — data starts 2024-09-01"
    assert shown.loc["Buying customers", "this period"] == str(N_CUSTOMERS)
    assert any("nobody is counted as *new*" in n for n in summary.notes)
    seg = ctx.stage("segments")
    assert seg.lifecycle.loc["new"].sum() == 0
    assert seg.kpi_by_segment["new_customers"].isna().all()
    # the next month has a month of history: a customer first seen in it is new again
    later = _log("2024-09-01", "2024-12-31", [{"customer_id": "z", "order_id": "z-0", "order_date": "2024-10-15",
                                              "amount": 44.0}])  # fmt: skip
    folder2 = folder / "later"
    folder2.mkdir()
    octo = _context(folder2, later, "2024-10").stage("score")
    assert not octo.left_censored and octo.customers.loc["z", "lifecycle_stage"] == "new"


# ---------------------------------------------------------------------------------------------- partial period


@pytest.fixture(scope="module")
def ends_mid_month(tmp_path_factory) -> tuple[pd.DataFrame, context.RunContext]:
    folder = tmp_path_factory.mktemp("partial")
    log = _log("2023-10-01", "2024-12-09")
    ctx = _context(folder, log, "2024-12")
    return log, ctx


def test_a_partial_month_is_scored_as_of_the_data_end(ends_mid_month) -> None:
    log, ctx = ends_mid_month
    w = ctx.window
    assert w.is_partial and w.as_of == pd.Timestamp("2024-12-09") and (w.days, w.period_days) == (9, 31)
    assert w.previous == (pd.Timestamp("2024-11-01"), pd.Timestamp("2024-11-09"))
    assert w.year_ago == (pd.Timestamp("2023-12-01"), pd.Timestamp("2023-12-09"))
    scored = ctx.stage("score")
    assert scored.as_of == pd.Timestamp("2024-12-09")
    assert scored.customers["recency_days"].min() == 0  # not at least 22 days silent
    assert ctx.subtitle.endswith("· data to **9 Dec 2024** (9 of 31 days) · customers scored as of **2024-12-09**")
    summary = ctx.stage("summary")
    rev = summary.headline_kpis.loc["revenue"]
    assert rev["this_period"] == _revenue(log, "2024-12-01", "2024-12-09")
    assert rev["previous"] == _revenue(log, "2024-11-01", "2024-11-09")  # the same nine days
    assert rev["year_ago"] == _revenue(log, "2023-12-01", "2023-12-09")
    assert abs(rev["change"]) < 0.25  # a steady log stays steady (not "−58.6 %" against a whole month)
    assert any("Data to 9 Dec 2024 (9 of 31 days)" in n for n in summary.notes)
    assert summary.headline["data_end"] == "2024-12-09" and summary.headline["days"] == 9
    seg = ctx.stage("segments")
    assert seg.lifecycle.columns[-1] == pd.Timestamp("2024-12-09")
    tot = seg.kpi_by_segment.loc["(all)"]
    assert tot["revenue_growth"] == pytest.approx(rev["change"])  # segments and headline compare the same days


def test_period_end_scoring_is_a_choice_and_says_so(tmp_path: Path) -> None:
    ctx = _context(tmp_path, _log("2024-06-01", "2024-12-09"), "2024-12", rfm={"partial_period": "period_end"})
    assert ctx.as_of == pd.Timestamp("2024-12-31") and ctx.window.previous[1] == pd.Timestamp("2024-11-30")
    summary = ctx.stage("summary")
    assert any("at least 22 days silent" in n for n in summary.notes)


# ---------------------------------------------------------------------------------------------- outliers


def test_two_huge_flagged_orders_are_shown_apart_and_called_out(tmp_path: Path) -> None:
    huge = [
        {"customer_id": "c1", "order_id": f"big-{i}", "order_date": f"2024-12-1{i}", "amount": 100_000.0}
        for i in (1, 2)
    ]
    log = _log("2024-01-01", "2024-12-31", huge)
    ctx = _context(tmp_path, log, "2024-12")
    assert len(ctx.stage("clean").outliers) == 2
    summary = ctx.stage("summary")
    table = summary.headline_kpis
    total = _revenue(log, "2024-12-01", "2024-12-31")
    assert table.loc["revenue", "this_period"] == total
    assert table.loc["revenue", "without_flagged"] == total - 200_000
    assert table.loc["revenue", "change"] > 10  # +1,000 % with the two orders
    assert abs(table.loc["revenue", "change_without_flagged"]) < 0.25
    assert table.loc["orders", "this_period"] - table.loc["orders", "without_flagged"] == 2
    callout = [n for n in summary.notes if n.startswith("**Flagged orders drive the revenue change vs the previous")]
    assert len(callout) == 1 and "$200,000" in callout[0] and "2 flagged orders bring" in callout[0]
    shown = format_headline(table, "$", "en", summary.unavailable_text("en"))
    assert shown.loc["Revenue", "this period, without unusually large or small orders"] == f"${total - 200_000:,.0f}"
    # the sensitivity names the orders it leaves out: both genuine $100,000 orders, by day and order id
    named = [n for n in summary.notes if "leaves out exactly these orders" in n]
    assert len(named) == 1 and "$100,000.00 (order big-1)" in named[0] and "$100,000.00 (order big-2)" in named[0]
    h = summary.headline
    assert (h["flagged_orders"], h["revenue_unflagged"]) == (2, round(total - 200_000, 2))
    page = write_index(tmp_path / "reports", "t", [RunEntry("2024-12", stages.ALL_REGIONS, "ok", headline=h)])
    html = page.read_text(encoding="utf-8")
    kept = f"${total - 200_000:,.0f}"
    assert f'without unusually large or small orders: <span class="revenue-unflagged">{kept}</span>' in html
    assert 'id="trend-unflagged"' in html


# ---------------------------------------------------------------------------------------------- windows named


def test_every_count_names_its_window(ends_mid_month) -> None:
    log, ctx = ends_mid_month
    summary = ctx.stage("summary")
    h = summary.headline
    buyers = log.loc[pd.to_datetime(log["order_date"]) >= "2024-12-01", "customer_id"].nunique()
    assert (
        h["buyers"] == buyers
        and h["customers"] == N_CUSTOMERS
        and h["revenue_period"] == _revenue(log, "2024-12-01", "2024-12-09")
    )
    glance = summary.glance
    assert glance["revenue_period"].sum() == pytest.approx(h["revenue_period"])  # this period's spend
    assert glance["revenue_to_date"].sum() == pytest.approx(log["amount"].sum())  # all history to as_of
    assert any("all history up to that day" in n for n in summary.glance_notes)
    seg = ctx.stage("segments")
    movement = seg.migration.revenue
    assert movement.drop(columns=["(gone)"], errors="ignore").to_numpy().sum() == pytest.approx(h["revenue_period"])
    page = write_index(ctx.run_dir.parent, "t", [RunEntry("2024-12", stages.ALL_REGIONS, "ok", headline=h)])
    html = page.read_text(encoding="utf-8")
    assert f'customers who bought this period: <span class="buyers">{buyers}</span>' in html
    assert f'customers to date (all history): <span class="customers">{N_CUSTOMERS}</span>' in html
    assert 'data to: <span class="data-to">2024-12-09 (9 of 31 days)</span>' in html


# ---------------------------------------------------------------------------------------------- runs kept apart


def test_params_files_never_share_an_output_folder(tmp_path: Path) -> None:
    en = load_params(ROOT / "params" / "monthly.yaml")
    zh = load_params(ROOT / "params" / "monthly_zh.yaml")
    dirs = {load_params(p).output_dir for p in (ROOT / "params").glob("*.yaml")}
    assert len(dirs) == len(list((ROOT / "params").glob("*.yaml")))  # every bundled params file apart
    out = str(tmp_path / "reports")
    en, zh = en.model_copy(update={"output_dir": out}), zh.model_copy(update={"output_dir": out})
    claim_output_dir(en, "params/monthly.yaml")
    claim_output_dir(en, "params/monthly.yaml")  # the same params file again: fine
    owner = json.loads((tmp_path / "reports" / OWNER_FILE).read_text())
    assert owner["language"] == "en" and owner["params"] == str(Path("params/monthly.yaml").resolve())
    assert len(owner["id"]) == 16
    # another team's monthly.yaml in another folder (issue 19 failure 8): refused, naming both params files
    with pytest.raises(ParamsError, match=r"/elsewhere/monthly.yaml: output_dir .* from .*params/monthly.yaml"):
        claim_output_dir(en, "/elsewhere/monthly.yaml")
    with pytest.raises(ParamsError, match=r"holds the reports of params 'monthly' \(en, \$\).*monthly_zh"):
        claim_output_dir(zh, "params/monthly_zh.yaml")
    same_name = en.model_copy(update={"currency": "€"})
    with pytest.raises(ParamsError, match="output_dir of its own"):
        claim_output_dir(same_name, "params/monthly.yaml")


def test_the_index_never_mixes_currencies_or_languages(tmp_path: Path) -> None:
    ok = {"buyers": 3, "customers": 9, "revenue_period": 100.0, "currency": "$", "language": "en"}
    other = dict(ok, currency="¥", language="zh", revenue_period=555.0)
    entries = [RunEntry("2024-11", stages.ALL_REGIONS, "ok", headline=ok),
               RunEntry("2024-12", stages.ALL_REGIONS, "ok", headline=other)]  # fmt: skip
    html = write_index(tmp_path, "t", entries, "$", "en").read_text(encoding="utf-8")
    assert "$100" in html and "555" not in html and "¥" not in html and "2024-12" not in html


def test_rfmkit_score_agrees_that_the_first_month_has_nobody_new(short_history) -> None:
    from click.testing import CliRunner

    from analysis.cli import main

    log, folder = short_history
    batch = _context(folder, log, "2024-09").stage("score").customers
    out = folder / "scored.parquet"
    args = ["score", str(folder / "log.csv"), "--as-of", "2024-09-30", "--params", str(folder / "honest.yaml")]
    res = CliRunner().invoke(main, [*args, "--out", str(out)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    mine = pd.read_parquet(out)
    assert "new" not in set(mine["lifecycle_stage"])
    pd.testing.assert_series_equal(mine["lifecycle_stage"], batch["lifecycle_stage"])
