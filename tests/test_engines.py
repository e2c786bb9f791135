"""Every engine gives the pandas engine's customer summary: exact counts and dates, money to 1e-9.

DuckDB and a local Spark session (``local[2]``) run the shared SQL on the CDNOW sample (as a frame,
a Parquet file, a glob of Parquet files and a CSV file) and on hand-made logs with the awkward shapes:
several purchases on one day, no ``order_id`` (or some missing), a lookback window's edges, a customer
whose only purchase is on ``as_of``, purchases after ``as_of``, a holdout, netted returns.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.clv.summary import summary_from_transactions
from analysis.customers.rfm import rfm_summary
from analysis.engines import EngineError, SummaryRequest, choose_engine, customer_summary, get_engine
from analysis.engines.base import CustomerSummary, Engine
from analysis.engines.duckdb_engine import DuckDBEngine
from analysis.engines.pandas_engine import PandasEngine
from analysis.errors import InputError, MissingColumnError
from analysis.params import DuckDBParams, EngineParams, parse_params
from tests.conftest import examples, tx

MONEY = ("monetary", "monetary_value", "monetary_holdout", "spend_holdout")


@pytest.fixture(scope="module")
def spark(spark_session) -> Engine:
    from analysis.engines.spark_engine import SparkEngine

    return SparkEngine(session=spark_session)  # the run's one session (tests/conftest.py), left running


@pytest.fixture(scope="module")
def duck():
    with DuckDBEngine() as engine:
        yield engine


@pytest.fixture(params=["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def engine(request: pytest.FixtureRequest) -> Engine:
    return request.getfixturevalue("duck" if request.param == "duckdb" else "spark")


def assert_same_frame(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Same customers in the same order and the same columns; exact except money (1e-9 relative)."""
    assert list(got.index) == list(want.index)
    assert got.index.name == want.index.name == "customer_id"
    assert list(got.columns) == list(want.columns)
    for col in want.columns:
        g, w = got[col], want[col]
        if col in MONEY:
            assert np.array_equal(g.isna().to_numpy(), w.isna().to_numpy()), col
            np.testing.assert_allclose(g.to_numpy(float), w.to_numpy(float), rtol=1e-9, atol=0, err_msg=col)
        elif pd.api.types.is_datetime64_any_dtype(w):
            assert pd.api.types.is_datetime64_any_dtype(g), col
            assert (g.dt.normalize() == g).all(), col
            assert list(g) == list(w), col
        else:
            assert g.dtype == w.dtype, (col, g.dtype, w.dtype)
            assert np.array_equal(g.to_numpy(), w.to_numpy()), col


def assert_same(got: CustomerSummary, want: CustomerSummary) -> None:
    assert_same_frame(got.rfm, want.rfm)
    if want.btyd is not None:
        assert_same_frame(got.btyd, want.btyd)
        assert got.btyd.attrs == want.btyd.attrs


REQUESTS = [
    SummaryRequest("1997-09-30", holdout_end="1998-06-30", time_unit="W"),
    SummaryRequest("1998-06-30", lookback_days=90, time_unit="D"),
    SummaryRequest("1997-03-25", lookback_days=30, holdout_end="1997-04-30", time_unit="M"),
]


@pytest.mark.parametrize("request_", REQUESTS, ids=["holdout-W", "lookback-D", "both-M"])
def test_cdnow_frame_same_on_every_engine(engine: Engine, cdnow_clean: pd.DataFrame, request_) -> None:
    want = PandasEngine().customer_summary(cdnow_clean, request_)
    assert len(want.rfm) > 200
    assert_same(engine.customer_summary(cdnow_clean, request_), want)


def test_the_engine_path_loads_neither_scipy_nor_pandera() -> None:
    """The engines import the kit's definitions (columns, time units, day parsing), not copies of them, and still
    stay light: `rfmkit summary` needs neither SciPy (the CLV models) nor pandera (the contracts)."""
    import subprocess
    import sys

    code = (
        "import sys, analysis.engines.base, analysis.engines.duckdb_engine, analysis.engines.pandas_engine; "
        "print(sorted(m for m in ('scipy', 'pandera', 'sklearn', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_pandas_engine_is_the_kit_code(cdnow_clean: pd.DataFrame) -> None:
    r = REQUESTS[0]
    got = PandasEngine().customer_summary(cdnow_clean, r)
    pd.testing.assert_frame_equal(got.rfm, rfm_summary(cdnow_clean, r.as_of))
    pd.testing.assert_frame_equal(got.btyd, summary_from_transactions(cdnow_clean, r.as_of, r.holdout_end, "W"))


@pytest.fixture(scope="module")
def cdnow_files(tmp_path_factory: pytest.TempPathFactory, cdnow_clean: pd.DataFrame) -> dict[str, Path]:
    """The clean CDNOW log as one Parquet file (as ``rfmkit clean`` writes it), as two Parquet parts
    in a folder, and as a CSV file."""
    d = tmp_path_factory.mktemp("cdnow")
    one = d / "clean.parquet"
    cdnow_clean.to_parquet(one, index=False)
    parts = d / "parts"
    parts.mkdir()
    odd = cdnow_clean["customer_id"].str[-1].isin(list("13579"))
    cdnow_clean[odd].to_parquet(parts / "part-0.parquet", index=False)
    cdnow_clean[~odd].to_parquet(parts / "part-1.parquet", index=False)
    csv = d / "clean.csv"
    cdnow_clean.to_csv(csv, index=False)
    return {"parquet": one, "glob": parts / "part-*.parquet", "folder": parts, "csv": csv}


@pytest.mark.parametrize("kind", ["parquet", "glob", "folder", "csv"])
def test_cdnow_files_read_by_the_engine(engine: Engine, cdnow_files: dict, cdnow_clean: pd.DataFrame, kind) -> None:
    r = REQUESTS[0]
    want = PandasEngine().customer_summary(cdnow_clean, r)
    assert_same(engine.customer_summary(str(cdnow_files[kind]), r), want)
    assert_same(PandasEngine().customer_summary(str(cdnow_files[kind]), r), want)


# ----------------------------------------------------------------------------- hand-made logs
AWKWARD = [
    # a: three rows on one day (two orders, one of them in two rows), then a later order
    ("a", "o1", "2024-03-01 09:00", 10.0),
    ("a", "o1", "2024-03-01 17:30", 5.0),
    ("a", "o2", "2024-03-01 18:00", 2.5),
    ("a", "o3", "2024-03-10", 7.25),
    # b: the only purchase is on as_of
    ("b", "o4", "2024-03-31 23:59", 3.0),
    # c: rows without an order id on two days, two of them on the same day; one after as_of
    ("c", None, "2024-01-05", 1.0),
    ("c", None, "2024-01-05", 2.0),
    ("c", None, "2024-02-20", 4.0),
    ("c", "o5", "2024-04-02", 8.0),
    # d: exactly on the 30-day lookback edge (2024-03-01 is out, 2024-03-02 is in)
    ("d", "o6", "2024-03-01", 100.0),
    ("d", "o7", "2024-03-02", 0.1),
    ("d", "o8", "2024-03-02", 0.2),
    # e: only before the lookback window, again in the holdout
    ("e", "o9", "2023-12-31", 20.0),
    ("e", "o10", "2024-04-15", 30.0),
    # f: only after as_of (in no summary)
    ("f", "o11", "2024-04-01", 9.0),
    # g: a zero-value order (a purchase occasion) and an order id shared with another customer
    ("g", "o1", "2024-02-01", 0.0),
    ("g", "o12", "2024-02-03", 12.0),
]


@pytest.mark.parametrize("with_order", [True, False], ids=["order_id", "no-order_id"])
@pytest.mark.parametrize("lookback", [None, 30, 1])
@pytest.mark.parametrize("holdout", [None, "2024-04-30"])
def test_awkward_log_same_on_every_engine(engine: Engine, with_order: bool, lookback, holdout) -> None:
    log = tx(AWKWARD, with_order=with_order)
    r = SummaryRequest("2024-03-31", lookback_days=lookback, holdout_end=holdout, time_unit="W")
    want = PandasEngine().customer_summary(log, r)
    assert_same(engine.customer_summary(log, r), want)


def test_awkward_log_definitions(engine: Engine) -> None:
    """The awkward shapes give what the definitions say (so the agreement above is not vacuous)."""
    got = engine.customer_summary(tx(AWKWARD), SummaryRequest("2024-03-31", lookback_days=30))
    rfm, btyd = got.rfm, got.btyd
    assert list(rfm.index) == ["a", "b", "d"]  # c, e, g bought before the window; f after as_of
    assert rfm.loc["a", "frequency"] == 1 and rfm.loc["a", "monetary"] == 7.25  # 03-01 is outside the 30 days
    all_days = engine.customer_summary(tx(AWKWARD), SummaryRequest("2024-03-31")).rfm
    assert all_days.loc["a", "frequency"] == 3 and all_days.loc["a", "monetary"] == 24.75  # o1 in two rows
    assert rfm.loc["b", "recency_days"] == 0 and rfm.loc["b", "frequency"] == 1
    assert rfm.loc["d", "frequency"] == 2 and rfm.loc["d", "monetary"] == 0.3  # 0.1 + 0.2 rounded to 1e-6
    assert list(btyd.index) == ["a", "b", "c", "d", "e", "g"]
    assert btyd.loc["a", "frequency"] == 1 and btyd.loc["a", "monetary_value"] == 7.25  # one day, one occasion
    assert tuple(btyd.loc["b", ["frequency", "t_x", "T"]]) == (0, 0.0, 0.0)
    assert np.isnan(btyd.loc["b", "monetary_value"])
    assert btyd.loc["c", "frequency"] == 1 and btyd.loc["c", "monetary_value"] == 4.0
    no_order = engine.customer_summary(tx(AWKWARD, with_order=False), SummaryRequest("2024-03-31"))
    assert no_order.rfm.loc["a", "frequency"] == 2  # purchase days without order ids
    assert no_order.rfm.loc["c", "frequency"] == 2


def test_netted_returns_rfm_only(engine: Engine) -> None:
    """Negative amounts (netted returns) reduce monetary and are not purchases; the BTYD summary refuses them."""
    log = tx([*AWKWARD, ("a", "r1", "2024-03-12", -7.25), ("h", "r2", "2024-03-20", -5.0)])
    want = rfm_summary(log, "2024-03-31")
    got = engine.rfm_summary(log, "2024-03-31")
    assert_same_frame(got, want)
    assert "h" not in got.index and got.loc["a", "monetary"] == 17.5  # 24.75 bought, 7.25 returned
    with pytest.raises(InputError, match=r"2 row.*negative 'amount'"):
        engine.btyd_summary(log, "2024-03-31")


def test_missing_values_refused(engine: Engine) -> None:
    log = tx(AWKWARD)
    log.loc[3, "amount"] = np.nan
    with pytest.raises(InputError, match=r"1 transaction row.*missing"):
        engine.btyd_summary(log, "2024-03-31")


def test_nothing_before_as_of(engine: Engine) -> None:
    with pytest.raises(InputError, match="no purchase on or before calibration_end 2020-01-01"):
        engine.btyd_summary(tx(AWKWARD), "2020-01-01")
    assert engine.rfm_summary(tx(AWKWARD), "2020-01-01").empty


def test_missing_column_named(engine: Engine) -> None:
    with pytest.raises(MissingColumnError, match=r"\['amount'\].*rfmkit clean"):
        engine.customer_summary(tx(AWKWARD).drop(columns="amount"), SummaryRequest("2024-03-31"))


day = st.dates(min_value=pd.Timestamp("2024-01-01").date(), max_value=pd.Timestamp("2024-02-15").date())


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c", "ü-1", ""]),
            st.one_of(st.none(), st.sampled_from(["o1", "o2", "o3"])),
            day,
            st.decimals(min_value=0, max_value=1000, places=2).map(float),
        ),
        min_size=1,
        max_size=40,
    ),
    as_of=day,
    lookback=st.one_of(st.none(), st.integers(1, 40)),
    holdout=st.booleans(),
)
def test_duckdb_matches_pandas_on_any_log(duck: DuckDBEngine, rows, as_of, lookback, holdout) -> None:
    log = tx(rows)
    r = SummaryRequest(str(as_of), lookback, str(as_of + dt.timedelta(days=20)) if holdout else None, time_unit="W")
    if log["order_date"].dt.normalize().min() > pd.Timestamp(as_of):
        with pytest.raises(InputError, match="no purchase on or before calibration_end"):
            duck.customer_summary(log, r)
        return
    assert_same(duck.customer_summary(log, r), PandasEngine().customer_summary(log, r))


# ----------------------------------------------------------------------------- registry and settings
def test_registry_by_name_and_unknown_names() -> None:
    assert isinstance(get_engine("pandas"), PandasEngine)
    with get_engine("duckdb") as e:
        assert isinstance(e, DuckDBEngine)
    with pytest.raises(EngineError, match=r"unknown engine 'polars'.*'auto', 'pandas', 'duckdb', 'spark'"):
        get_engine("polars")


def test_capabilities_are_declared_in_the_registry() -> None:
    """Every engine can summarise and score (one SQL text per step on DuckDB and Spark); only Spark writes
    folders from its workers and reads cluster URLs; ``auto`` can do what both of its choices can."""
    from analysis.engines import ENGINES, TASKS, Capabilities

    assert set(TASKS) == set(Capabilities.__dataclass_fields__)
    assert ENGINES.names("score") == ENGINES.names("summary") == ["pandas", "duckdb", "spark"]
    assert ENGINES.names("folder_summary") == ENGINES.names("folder_score") == ["spark"]
    assert not ENGINES.capabilities("auto").folder_summary and ENGINES.capabilities("auto").score
    with pytest.raises(EngineError, match=r"unknown engine 'polars'"):
        ENGINES.capabilities("polars")
    with pytest.raises(ValueError, match="unknown engine task 'fly'"):
        ENGINES.capabilities("pandas").can("fly")


def test_resolve_asks_the_declared_capabilities(cdnow_clean: pd.DataFrame) -> None:
    """An engine asked for by name that cannot do a task is refused before it starts, naming those that can;
    one from the params is replaced by auto (nothing is tried and caught)."""
    from analysis.engines import Capabilities, Engines

    started = []
    registry = Engines()
    registry.register("pandas", lambda p: started.append("pandas") or PandasEngine())
    registry.register("summaries-only", lambda p: started.append("x") or PandasEngine(), Capabilities(score=False))
    with pytest.raises(EngineError, match=r"scoring .* does not run on the summaries-only engine: use engine pandas"):
        registry.resolve("score", "summaries-only")
    assert registry.resolve("score", None, default="summaries-only", source=cdnow_clean) == "pandas"
    assert registry.resolve("summary", None, default="summaries-only") == "summaries-only"
    assert registry.resolve("score", "pandas") == "pandas" and started == []
    small = EngineParams(auto_pandas_max_rows=len(cdnow_clean) - 1)
    assert registry.resolve("score", "auto", small, cdnow_clean) == "duckdb"


def test_auto_picks_by_input_size(cdnow_files: dict, cdnow_clean: pd.DataFrame) -> None:
    small = EngineParams(auto_pandas_max_rows=len(cdnow_clean))
    assert choose_engine(cdnow_clean, small) == "pandas"
    assert choose_engine(str(cdnow_files["parquet"]), small) == "pandas"  # rows from the Parquet footer
    assert choose_engine(str(cdnow_files["glob"]), small) == "pandas"
    tiny = EngineParams(auto_pandas_max_rows=len(cdnow_clean) - 1)
    assert choose_engine(cdnow_clean, tiny) == "duckdb"
    assert choose_engine(str(cdnow_files["folder"]), tiny) == "duckdb"
    got = customer_summary(str(cdnow_files["parquet"]), REQUESTS[0], "auto", tiny)
    assert_same(got, PandasEngine().customer_summary(cdnow_clean, REQUESTS[0]))


def test_engine_in_params() -> None:
    base = {"periods": {"start": "2024-01", "end": "2024-01"}}
    p = parse_params(
        base
        | {
            "engine": "duckdb",
            "engine_options": {
                "duckdb": {"memory_limit": "1GB", "temp_directory": "/tmp/x"},
                "spark": {"master": "local[2]", "config": {"spark.executor.memory": "2g"}},
            },
        }
    )
    assert p.engine == "duckdb" and p.engine_options.duckdb.memory_limit == "1GB"
    assert p.engine_options.spark.config == {"spark.executor.memory": "2g"}
    assert parse_params(base).engine == "auto"
    with pytest.raises(Exception, match="engine"):
        parse_params(base | {"engine": "polars"})


def test_duckdb_memory_limit_and_spilling(tmp_path: Path, cdnow_files: dict, cdnow_clean: pd.DataFrame) -> None:
    """The params' memory limit and spill folder reach DuckDB, and a summary runs under them."""
    spill = tmp_path / "spill"
    with DuckDBEngine(DuckDBParams(memory_limit="200MB", temp_directory=str(spill), threads=1)) as e:
        limit = e.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
        assert limit.replace(" ", "") in ("190.7MiB", "200.0MB", "200MB")
        assert Path(e.con.execute("SELECT current_setting('temp_directory')").fetchall()[0][0]) == spill
        got = e.customer_summary(str(cdnow_files["parquet"]), REQUESTS[1])
    assert_same(got, PandasEngine().customer_summary(cdnow_clean, REQUESTS[1]))
