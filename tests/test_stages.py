"""The pipeline's stages on small data, the run context's cache and scratch folder, and the batch on the cases that
used to crash: clustering switched off, and a region of five customers. `rfmkit score` equals the batch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from analysis import context, stages
from analysis.cli import main
from analysis.text import t
from analysis.window import LIFECYCLE_PERIODS
from tests.conftest import ROOT
from tests.test_batch import small_params

STAGE_NAMES = ["clean", "score", "segments", "strategy", "summary"]


def tiny_log(folder: Path) -> Path:
    """Two regions: ``Tiny`` with five customers (1 to 5 orders each) and ``Big`` with 40 random customers."""
    rows = []
    for c in range(5):
        for k in range(c + 1):
            day = f"2024-{12 - 2 * k:02d}-{5 + c:02d}"
            rows.append(
                {"customer_id": f"T{c}", "order_id": f"T{c}-{k}", "order_date": day, "amount": 20.0 + 7 * c + k}
                | {"region": "Tiny"}
            )
    rng = np.random.default_rng(3)
    for c in range(40):
        for k in range(int(rng.integers(1, 5))):
            day = f"2024-{int(rng.integers(1, 13)):02d}-{int(rng.integers(1, 28)):02d}"
            rows.append(
                {
                    "customer_id": f"B{c}",
                    "order_id": f"B{c}-{k}",
                    "order_date": day,
                    "amount": float(rng.integers(10, 200)),
                }
                | {"region": "Big"}
            )
    path = folder / "log.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def tiny_params(folder: Path, **extra) -> Path:
    data = {
        "title": "Tiny report",
        "source": {"format": "csv", "path": str(tiny_log(folder))},
        "periods": {"start": "2024-12", "end": "2024-12"},
        "regions": ["Tiny", "Big"],
        "include_all_regions": False,
        "notebooks_dir": str(ROOT / "notebooks"),
        "output_dir": str(folder / "reports"),
        "execution": {"jobs": 1, "timeout_seconds": 300},
        **extra,
    }
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> context.RunContext:
    folder = tmp_path_factory.mktemp("tiny")
    ctx = context.setup(tiny_params(folder), "2024-12", "Tiny")
    for name in STAGE_NAMES:
        ctx.stage(name)
    return ctx


def test_five_customers_give_results_and_reasons(tiny_run: context.RunContext) -> None:
    scored = tiny_run.stage("score")
    assert len(scored.customers) == 5 and scored.customers.index.name == "customer_id"
    assert scored.customers["lifecycle_stage"].notna().all() and scored.customers["abc_class"].notna().all()
    assert isinstance(scored.clusters, stages.Missing) and scored.clusters.key == "too_few_customers"
    assert not tiny_run.has(scored.clusters)
    assert "5" in scored.clusters.reason("en") and "5" in scored.clusters.reason("zh")
    assert ("clv" in scored.customers) == (scored.clv is None)  # CLV columns, or the reason they are missing
    summary = tiny_run.stage("summary")
    assert summary.headline["customers"] == 5 and "cluster_k" not in summary.headline
    assert summary.headline["rows"] == 15  # 1 + 2 + … + 5 orders, all up to 2024-12-31


def test_artifacts_are_written_once_into_a_scratch_folder(tiny_run: context.RunContext) -> None:
    run = tiny_run.run_dir
    assert run == Path(tiny_run.params.output_dir) / "_scratch" / "2024-12" / "Tiny"
    names = {p.name for p in run.iterdir()}
    assert {"transactions.parquet", "customers.parquet", "customers.csv", "cut_points.csv", "actions.csv"} <= names
    assert {"recommendations.csv", "headline.json", "actions"} <= names
    assert not any(n.startswith("cluster_") for n in names)  # no clusters: no cluster files, a reason instead
    assert (Path(tiny_run.params.output_dir) / "_data").is_dir()  # cleaned once, cached like the batch
    headline = json.loads((run / "headline.json").read_text())
    assert headline == tiny_run.stage("summary").headline
    again = context.setup(_params_of(tiny_run), "2024-12", "Tiny", clean_dir=tiny_run.clean_dir)
    assert again.stage("score") is tiny_run.stage("score")  # computed once per process


def _params_of(ctx: context.RunContext) -> Path:
    return Path(ctx.params.output_dir).parent / "tiny.yaml"


def test_stage_results_on_a_bigger_region(tiny_run: context.RunContext) -> None:
    ctx = context.setup(_params_of(tiny_run), "2024-12", "Big")
    scored = ctx.stage("score")
    assert len(scored.customers) == 40
    assert isinstance(scored.clusters, stages.Clusters) and scored.clusters.k >= 2
    assert scored.customers["cluster"].nunique() == scored.clusters.k == len(scored.clusters.profile)
    assert (ctx.run_dir / "cluster_profile.csv").exists()
    assert isinstance(scored.previous, pd.DataFrame) and len(scored.previous) <= 40
    seg = ctx.stage("segments")
    assert seg.segments["customers"].sum() == 40 and seg.abc_summary["customers"].sum() == 40
    assert seg.lifecycle.shape[1] == LIFECYCLE_PERIODS  # stages × period ends
    assert len(seg.migration.moved_up) + len(seg.migration.moved_down) <= 40
    assert "region" in seg.kpi_by_dimension and isinstance(seg.sales_reps, stages.Missing)
    strategy = ctx.stage("strategy")
    assert strategy.forecast["customers"].sum() == 40
    assert strategy.forecast_window == (pd.Timestamp("2025-01-01"), pd.Timestamp("2025-01-31"))
    assert isinstance(strategy.backtest, pd.DataFrame) and "(all existing)" in strategy.backtest.index
    # the forecast method is the one whose backtest erred less, and the CLV figures name their method
    methods = strategy.forecast_methods
    assert methods.index[methods["chosen"]].tolist() == [strategy.forecast_method]
    assert methods.loc[strategy.forecast_method, "segment_error"] == methods["segment_error"].min()
    summary = ctx.stage("summary")
    value = scored.clv_value
    assert summary.headline["clv_method"] == value.method
    assert summary.headline["clv_method_name"] == value.method_label("en")
    clv_row = summary.measures.set_index("measure").loc["clv_total"]
    assert clv_row["window"] == "next" and clv_row["start"] == str((ctx.as_of + pd.Timedelta(days=1)).date())
    assert clv_row["note"] == f"Method: {value.method_label('en')}." and float(clv_row["value"]) > 0
    card = next(c for c in summary.cards if c.key == "clv")
    assert f"Method: {value.method_label('en')}." in card.why


def test_clustering_off_is_a_reason(tiny_run: context.RunContext, tmp_path: Path) -> None:
    params = tiny_params(tmp_path, segmentation={"cluster": {"enabled": False}})
    ctx = context.setup(params, "2024-12", "Big")
    scored = ctx.stage("score")
    assert scored.clusters == stages.Missing("clustering_disabled", {"n": 40, "min": 10})
    assert scored.customers["cluster"].isna().all()
    assert "segmentation.cluster.enabled" in scored.clusters.reason("en")


def test_the_lifecycle_window_is_the_period() -> None:
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "order_id": ["1", "2"],
            "order_date": pd.to_datetime(["2024-10-20", "2024-12-03"]),
            "amount": [10.0, 20.0],
            "is_outlier": [False, False],
            "row_id": [0, 1],
        }
    )
    from analysis.params import RunParams

    params = RunParams.model_validate({"periods": {"start": "2024-12", "end": "2024-12"}})
    scored = stages.score(stages.scope(tx, pd.Timestamp("2024-12-31")), params, "2024-12-31", clv_check=False)
    # 'a' first bought 72 days before as_of: inside 90 days, but before the period, so not new
    assert scored.customers.loc["b", "lifecycle_stage"] == "new"
    assert scored.customers.loc["a", "lifecycle_stage"] != "new"


def test_missing_reasons_are_in_every_language() -> None:
    keys = ["clv_disabled", "clv_not_identifiable", "clv_check_off", "clv_check_short", "clv_check_failed"]
    keys += ["no_customers"]
    keys += ["clustering_disabled", "too_few_customers", "no_previous", "no_sales_reps", "no_sales_in_period"]
    for key in keys:
        for language in ("en", "zh"):
            assert t(f"run.missing.{key}", language, detail="x", n=1, min=10, days=40, need=56, date="2024-01-31")


# ------------------------------------------------------------------------------------------------ end to end


def _run(params: Path, *args: str) -> str:
    res = CliRunner().invoke(main, ["run", str(params), "--no-progress", *args], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


@pytest.mark.slow
def test_batch_without_clustering_renders_and_rfmkit_score_equals_it(tmp_path: Path) -> None:
    params = small_params(
        tmp_path,
        periods={"start": "2024-12", "end": "2024-12"},
        regions="all",
        include_all_regions=True,
        segmentation={"cluster": {"enabled": False}},
    )
    out = _run(params, "--region", "all")
    assert "1 runs: 1 ok" in out, out
    run = tmp_path / "reports" / "2024-12" / "all"
    html = (run / "report.html").read_text(encoding="utf-8")
    assert "segmentation.cluster.enabled: false" in html
    assert not list(run.glob("cluster_*.csv"))
    clean = next((tmp_path / "reports" / "_data").glob("clean-*/clean.parquet"))
    mine = tmp_path / "scored.parquet"
    res = CliRunner().invoke(
        main,
        ["score", str(clean), "--as-of", "2024-12-31", "--params", str(params), "--out", str(mine)],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    pd.testing.assert_frame_equal(pd.read_parquet(mine), pd.read_parquet(run / "customers.parquet"))


@pytest.mark.slow
def test_batch_with_a_five_customer_region_renders(tmp_path: Path) -> None:
    out = _run(tiny_params(tmp_path))
    assert "2 runs: 2 ok" in out, out
    tiny = tmp_path / "reports" / "2024-12" / "Tiny"
    html = (tiny / "report.html").read_text(encoding="utf-8")
    assert "Clustering skipped: 5 customers" in html
    assert json.loads((tiny / "headline.json").read_text())["customers"] == 5
    assert json.loads((tiny / "manifest.json").read_text())["status"] == "ok"
