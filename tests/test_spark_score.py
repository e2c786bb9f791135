"""Scoring every customer on Spark gives ``rfmkit score``'s numbers.

A local Spark session (``local[2]``) scores the CDNOW sample and hand-made awkward logs with
:func:`analysis.engines.spark_score.score_to_parquet`; the Parquet the executors write is compared with the
pandas scoring of ``rfmkit score``: customers, dates, counts, scores, segments and value classes exactly, money
to 1e-9 relative, and the CLV columns to 1e-9 relative (the purchase model is fitted on the same distinct rows in
the same order, so its parameters are the same to the last bit); spend_per_purchase, expected_spend_horizon and
clv go through Gamma-Gamma, fitted on repeat-spend means summed in another order, and are held to 1e-6 (see SPEND_RTOL).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import stages
from analysis.cli import main
from analysis.engines.spark_score import (
    CLV_COLUMNS,
    _values_at,
    exact_quantiles,
    numpy_lerp,
    numpy_ranks,
    score_to_parquet,
)
from analysis.errors import ParamsError
from analysis.params import RunParams
from tests.conftest import CDNOW, examples, tx

AS_OF = "1997-09-30"
#: Gamma-Gamma is fitted on repeat-spend means that Spark sums in another order than pandas (last-bit
#: differences), so its optimiser stops at a point within its own tolerance of the pandas one: about 4e-8
#: relative on CDNOW. 1e-6 relative is far inside the parameters' standard errors (about 10 % on CDNOW);
#: everything that does not go through Gamma-Gamma (p_alive, expected_purchases) is held to 1e-9.
SPEND_RTOL = 1e-6
EXACT = ("recency_days", "frequency", "r_score", "f_score", "m_score", "rfm_code", "segment", "value_class")


@pytest.fixture
def session(spark_session):
    """The run's one Spark session (tests/conftest.py): every test here is marked ``spark``."""
    return spark_session


def run_params(**clv: object) -> RunParams:
    return RunParams.model_validate({"periods": {"start": "2000-01", "end": "2000-01"}, "clv": clv})


def pandas_score(log: pd.DataFrame, as_of: str, params: RunParams) -> stages.Scored:
    """What ``rfmkit score`` computes (its CLI calls exactly this)."""
    day = pd.Timestamp(as_of)
    return stages.score(stages.scope(log, day), params, day, clv_check=False)


def assert_same_scores(got: pd.DataFrame, want: pd.DataFrame, clv: bool) -> None:
    got = got.set_index("customer_id")
    assert list(got.index) == list(want.index.astype(str))
    expected = [c for c in want.columns if c not in ("abc_class", "lifecycle_stage", "cluster")]
    if not clv:
        expected = [c for c in expected if c not in CLV_COLUMNS]
    assert list(got.columns) == expected
    for col in expected:
        g, w = got[col], want[col]
        if col in ("first_purchase", "last_purchase"):
            assert list(pd.to_datetime(g)) == list(pd.to_datetime(w)), col
        elif col in EXACT or col == "value_class_en":
            assert g.astype(str).tolist() == w.astype(str).tolist(), col
            if col in EXACT[:5]:
                assert g.dtype == np.int64, col
        else:
            # spend_per_purchase and what is computed from it go through Gamma-Gamma
            rtol = SPEND_RTOL if col in ("spend_per_purchase", "expected_spend_horizon", "clv") else 1e-9
            np.testing.assert_allclose(g.to_numpy(float), w.to_numpy(float), rtol=rtol, atol=0, err_msg=col)


@pytest.fixture(scope="module")
def cdnow_clean_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clean")
    res = CliRunner().invoke(
        main,
        ["clean", str(CDNOW), "--out", str(out), "--sep", r"\s+", "--no-header",
         "--names", "cohort,cust,date,cds,dollars", "--map", "customer_id=cust", "--map", "order_date=date",
         "--map", "amount=dollars", "--date-format", "%Y%m%d"],
        catch_exceptions=False,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    return out / "clean.parquet"


# ------------------------------------------------------------------------------------ quantiles without Spark


@settings(max_examples=examples(200), deadline=None)
@given(
    st.lists(
        st.one_of(st.integers(0, 5).map(float), st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False)),
        min_size=1,
        max_size=60,
    )
)
def test_numpy_quantile_rule_reproduced(values: list[float]) -> None:
    """The ranks and interpolation of :func:`exact_quantiles` give numpy's quantiles bit for bit."""
    probs = (0.2, 0.4, 0.6, 0.8)
    counts = pd.Series(values).value_counts().rename_axis("value").reset_index(name="count")
    plan = numpy_ranks(len(values), probs)
    at = _values_at(counts, sorted({r for p, n, _ in plan for r in (p, n)}))
    got = np.array([numpy_lerp(at[p], at[n], t) for p, n, t in plan])
    np.testing.assert_array_equal(got, np.quantile(np.array(values), probs))


# ------------------------------------------------------------------------------------------------- on Spark


def test_exact_quantiles_in_spark(session) -> None:
    """Heavy ties, a long tail and many distinct values: Spark's cut points are numpy's, exactly."""
    rng = np.random.default_rng(3)
    n = 20_000
    frame = pd.DataFrame(
        {
            "ties": rng.choice([1, 1, 1, 2, 2, 3, 7], n).astype(float),
            "money": np.round(rng.lognormal(3, 1.5, n), 2),
            "days": rng.integers(0, 400, n).astype(float),
        }
    )
    got = exact_quantiles(session.createDataFrame(frame), list(frame.columns), n, (0.2, 0.4, 0.6, 0.8))
    for col in frame.columns:
        np.testing.assert_array_equal(got[col], np.quantile(frame[col].to_numpy(), (0.2, 0.4, 0.6, 0.8)), col)


def test_cdnow_spark_equals_rfmkit_score(session, tmp_path: Path, cdnow_clean_file: Path) -> None:
    """``rfmkit summary --engine spark --clv`` writes, from the executors, what ``rfmkit score`` computes."""
    pandas = pandas_score(pd.read_parquet(cdnow_clean_file), AS_OF, run_params())  # what 'rfmkit score' writes
    out = tmp_path / "scored"
    res = CliRunner().invoke(
        main,
        ["summary", str(cdnow_clean_file), "--as-of", AS_OF, "--engine", "spark", "--clv", "--out", str(out)],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    assert "scored 2,349 customers as of 1997-09-30 on spark" in res.output
    assert session.sparkContext._jsc is not None  # the test's session was used, not stopped
    parts = sorted((out / "customers").glob("part-*.parquet"))
    assert parts and (out / "customers" / "_SUCCESS").exists()  # written by Spark, not by pandas
    assert_same_scores(pd.read_parquet(out / "customers"), pandas.customers, clv=True)
    models = json.loads((out / "models.json").read_text())
    assert models["clv_method"] == "bgnbd" and models["spend_method"] == "gamma_gamma"
    assert models["distinct_rows"] < models["btyd_customers"] == 2349  # fitted on the compressed rows
    bg = next(m for m in models["models"] if m["model"] == "bgnbd")["params"]
    gg = next(m for m in models["models"] if m["model"] == "gamma_gamma")["params"]
    assert bg == dict(pandas.clv_value.transaction_model.params_)  # the same fit, to the last bit
    np.testing.assert_allclose(list(gg.values()), pandas.clv_value.spend_model.params_.to_numpy(), rtol=SPEND_RTOL)
    # the published CDNOW values (Fader, Hardie & Lee 2005)
    assert bg["r"] == pytest.approx(0.243, abs=1e-3) and bg["a"] == pytest.approx(0.793, abs=1e-3)


def test_cdnow_without_clv_and_given_thresholds(session, tmp_path: Path, cdnow_clean_file: Path) -> None:
    params = run_params(enabled=False)
    params = params.model_copy(
        update={"rfm": params.rfm.model_validate({"lookback_days": 120, "thresholds": {"frequency": [1, 2, 3, 5]}})}
    )
    res = score_to_parquet(cdnow_clean_file, AS_OF, tmp_path, params, session=session)
    want = pandas_score(pd.read_parquet(cdnow_clean_file), AS_OF, params)
    assert res.rows_written == len(want.customers) and res.clv_method is None
    assert res.clv_reason == "CLV switched off (clv.enabled: false)"
    assert_same_scores(pd.read_parquet(res.customers_path), want.customers, clv=False)
    pd.testing.assert_frame_equal(res.cut_points, want.cut_points)


AWKWARD = [
    # several rows on one day, an order in two rows, ids that look like numbers
    ("0001", "o1", "2024-03-01 09:00", 10.0),
    ("0001", "o1", "2024-03-01 17:30", 5.0),
    ("0001", "o2", "2024-03-01 18:00", 2.5),
    ("0001", "o3", "2024-03-10", 7.25),
    ("1", "o4", "2024-03-31 23:59", 3.0),  # only purchase on as_of; '1' is not '0001'
    ("c", None, "2024-01-05", 1.0),  # no order ids
    ("c", None, "2024-01-05", 2.0),
    ("c", None, "2024-02-20", 4.0),
    ("c", "o5", "2024-04-02", 8.0),  # after as_of
    ("d", "o6", "2024-03-01", 100.0),
    ("d", "o7", "2024-03-02", 0.1),
    ("d", "o8", "2024-03-02", 0.2),
    ("e", "o9", "2023-12-31", 20.0),
    ("f", "o11", "2024-04-01", 9.0),  # only after as_of
    ("g", "o1", "2024-02-01", 0.0),  # a free order; an order id shared with another customer
    ("g", "o12", "2024-02-03", 12.0),
    ("ü", "o13", "2024-02-03", 12.0),  # a non-ASCII id sorts after the ASCII ones in both
]


def awkward_log() -> pd.DataFrame:
    """The rows above plus 150 customers who buy at their own rate until they stop, so that BG/NBD and Gamma-Gamma
    can be estimated (with the rows above alone pandas falls back to a run-rate estimate)."""
    rng = np.random.default_rng(11)
    rows = list(AWKWARD)
    for i in range(150):
        day, life, rate, k = float(rng.integers(0, 400)), float(rng.exponential(300)), rng.gamma(0.7, 1 / 25), 0
        first = day
        while day <= 470 and day - first <= life:
            when = str(pd.Timestamp("2023-01-01") + pd.Timedelta(days=int(day)))
            rows.append((f"r{i:03d}", f"r{i}-{k}", when, round(5.0 + rng.gamma(2, 10), 2)))
            day, k = day + 1 + rng.exponential(1 / rate), k + 1
    log = tx(rows)
    return log.assign(is_outlier=False, row_id=np.arange(len(log)))  # the clean log's bookkeeping columns


def test_awkward_log_equals_pandas(session, tmp_path: Path) -> None:
    lookback = 30  # the window's edges: d's 2024-03-01 order is out, its 03-02 orders in
    log = awkward_log()
    params = run_params()
    params = params.model_copy(update={"rfm": params.rfm.model_copy(update={"lookback_days": lookback})})
    want = pandas_score(log, "2024-03-31", params)
    res = score_to_parquet(log, "2024-03-31", tmp_path, params, session=session)
    assert want.clv_value is not None and want.clv_value.method == res.clv_method == "bgnbd"
    assert res.spend_method == want.clv_value.spend_method
    got = pd.read_parquet(res.customers_path)
    assert_same_scores(got, want.customers, clv=True)
    assert "c" not in set(got["customer_id"]) and "e" not in set(got["customer_id"])
    assert got.set_index("customer_id").loc["d", "frequency"] == 2
    assert res.btyd_customers == len(log[log["order_date"] <= "2024-03-31 23:59:59"]["customer_id"].unique())


def test_netted_returns_score_without_clv(session, tmp_path: Path) -> None:
    """A negative amount (a return netted in by hand) keeps the RFM scores of
    :func:`analysis.customers.rfm.score_customers` and leaves the CLV columns out, saying why."""
    from analysis.customers.rfm import score_customers

    log = pd.concat([awkward_log(), tx([("d", "ret", "2024-03-05", -30.0)])], ignore_index=True)
    want = score_customers(log, "2024-03-31").customers
    res = score_to_parquet(log, "2024-03-31", tmp_path, run_params(), session=session)
    assert res.clv_method is None and "negative 'amount'" in res.clv_reason
    assert_same_scores(pd.read_parquet(res.customers_path), want, clv=False)


def test_refuses_to_overwrite_a_foreign_folder(session, tmp_path: Path) -> None:
    (tmp_path / "customers").mkdir()
    (tmp_path / "customers" / "notes.txt").write_text("mine")
    with pytest.raises(ParamsError, match="other files in it"):
        score_to_parquet(awkward_log(), "2024-03-31", tmp_path, session=session)
    assert (tmp_path / "customers" / "notes.txt").read_text() == "mine"


def test_nobody_to_score_is_a_clear_error(session, tmp_path: Path) -> None:
    """An --as-of before the data, or a lookback window without purchases, names the fix (not a NaN cut point)."""
    from analysis.errors import InputError

    with pytest.raises(InputError, match="no purchase on or before 2020-01-31: choose a later --as-of"):
        score_to_parquet(awkward_log(), "2020-01-31", tmp_path / "a", session=session)
    params = RunParams.model_validate({"periods": {"start": "2000-01", "end": "2000-01"}, "rfm": {"lookback_days": 30}})
    with pytest.raises(InputError, match=r"nobody bought in the 30 days up to 2024-12-31: .* rfm\.lookback_days"):
        score_to_parquet(awkward_log(), "2024-12-31", tmp_path / "b", params, session=session)


# ------------------------------------------------------------------------- the shared score step on Spark


def test_score_step_on_spark_equals_pandas(session, cdnow_clean_file: Path) -> None:
    """Spark runs the score step's one SQL text (the one DuckDB runs): the same ScoreInputs as pandas on CDNOW
    (a frame and the Parquet file Spark reads itself) and on the awkward rows, whatever the windows."""
    from analysis.engines import ScoreRequest
    from analysis.engines.pandas_engine import PandasEngine
    from analysis.engines.spark_engine import SparkEngine
    from tests.test_engines import AWKWARD
    from tests.test_score_engines import REQUESTS, same_inputs

    engine = SparkEngine(session=session)
    clean = pd.read_parquet(cdnow_clean_file)
    for r in REQUESTS:
        want = PandasEngine().score_inputs(clean, r)
        same_inputs(engine.score_inputs(str(cdnow_clean_file), r), want)
    same_inputs(engine.score_inputs(clean, REQUESTS[0]), PandasEngine().score_inputs(clean, REQUESTS[0]))
    for with_order in (True, False):
        for lookback, prev in ((None, "2024-03-15"), (30, "2024-03-01"), (1, "2023-01-01")):
            log = tx(AWKWARD, with_order=with_order)
            r = ScoreRequest("2024-03-31", prev, lookback_days=lookback)
            same_inputs(engine.score_inputs(log, r), PandasEngine().score_inputs(log, r))


def test_rfmkit_score_and_the_score_stage_on_spark(
    session, tmp_path: Path, cdnow_clean_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``rfmkit score --engine spark`` and params ``engine: spark`` score on Spark (the registry says it can; no
    fallback by name) and give the customers of the pandas engine."""
    from tests.test_score_engines import same_customers

    outs = {}
    for engine in ("pandas", "spark"):
        outs[engine] = tmp_path / f"{engine}.parquet"
        res = CliRunner().invoke(
            main, ["score", str(cdnow_clean_file), "--as-of", AS_OF, "--out", str(outs[engine]), "--engine", engine]
        )
        assert res.exit_code == 0, res.output
    want = pd.read_parquet(outs["pandas"])
    assert len(want) > 2000
    same_customers(pd.read_parquet(outs["spark"]), want)
    log = pd.read_parquet(cdnow_clean_file)
    params = RunParams.model_validate({"periods": {"start": "2000-01", "end": "2000-01"}, "engine": "spark"})
    with caplog.at_level(logging.DEBUG, logger="analysis.stages"):
        got = stages.score_inputs(log, params, AS_OF)
    assert "on the spark engine" in caplog.text
    pd.testing.assert_frame_equal(got.rfm, stages.score_inputs(log, params, AS_OF, engine="pandas").rfm)


def test_spark_reads_the_log_once_and_keeps_set_shuffle_partitions(session, cdnow_clean_file: Path) -> None:
    """Registering an input caches its canonical columns (the shared SQL's several reads hit the cache, not the
    files: one file scan for the check and the summary together) and closing the engine releases them; shuffle
    partitions set by the user are left as they are."""
    from analysis.engines import SummaryRequest
    from analysis.engines.spark_engine import SparkEngine, file_scans, size_shuffle_partitions
    from analysis.engines.sql import CHECK_SQL, CUSTOMER_STEP_SQL

    engine = SparkEngine(session=session)
    request = SummaryRequest(AS_OF)
    args = {"as_of_n": request.as_of_n, "end_n": request.end_n, "window_start_n": request.window_start_n}
    engine.register(str(cdnow_clean_file))
    # the summary's plan reads the log in several places (the CTEs are inlined) but the files once, to fill the cache
    assert file_scans(session.sql(CUSTOMER_STEP_SQL, args=args)) == 1
    session.sql("UNCACHE TABLE transactions")
    assert file_scans(session.sql(CUSTOMER_STEP_SQL, args=args)) > 1  # without the cache: once per read
    engine.register(str(cdnow_clean_file))
    session.sql(CHECK_SQL).collect()  # the check runs first and fills the cache: the summary reads no file
    assert file_scans(session.sql(CUSTOMER_STEP_SQL, args=args)) == 0
    engine.customer_summary(str(cdnow_clean_file), request)
    assert session.catalog.isCached("transactions")
    plan = session.sql("SELECT COUNT(*) FROM transactions")._jdf.queryExecution().optimizedPlan().toString()
    assert "InMemoryRelation" in plan
    engine.close()
    assert not session.catalog.isCached("transactions")
    before = session.conf.get("spark.sql.shuffle.partitions")
    size_shuffle_partitions(session)  # set by the session's config: kept
    assert session.conf.get("spark.sql.shuffle.partitions") == before


def test_summary_cli_spark_folder_and_misuse(session, tmp_path: Path, cdnow_clean_file: Path) -> None:
    """Without --clv a folder OUT gets the summary columns from the executors; --clv elsewhere is refused."""
    out = tmp_path / "summary"
    res = CliRunner().invoke(
        main, ["summary", str(cdnow_clean_file), "--as-of", AS_OF, "--engine", "spark", "--out", f"{out}/"]
    )
    assert res.exit_code == 0, res.output
    file_out = tmp_path / "summary.parquet"
    res2 = CliRunner().invoke(
        main, ["summary", str(cdnow_clean_file), "--as-of", AS_OF, "--engine", "duckdb", "--out", str(file_out)]
    )
    assert res2.exit_code == 0, res2.output
    got = pd.read_parquet(out / "customers").set_index("customer_id")
    want = pd.read_parquet(file_out)
    assert list(got.index) == list(want.index) and list(got.columns) == list(want.columns)
    for col in want.columns:
        if col in ("monetary", "monetary_value", "t_x", "T"):
            np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float), rtol=1e-9, atol=0)
        else:
            assert list(pd.Series(got[col]).astype(str)) == list(want[col].astype(str)), col
    bad = CliRunner().invoke(main, ["summary", str(cdnow_clean_file), "--as-of", AS_OF, "--clv", "--out", "x.parquet"])
    assert (
        bad.exit_code == 2
        and "--clv scores every customer where the data lives: give --engine spark and a folder" in bad.output
    )
    res = CliRunner().invoke(main, ["summary", str(cdnow_clean_file), "--as-of", AS_OF, "--out", f"{out}/"])
    assert res.exit_code == 2 and "a folder is for --engine spark" in res.output
