"""Shared fixtures (the CDNOW sample, small synthetic logs, hand-made edge cases, one Spark session) and the tiers.

Tiers (docs/testing.md): ``make test`` runs everything; ``make test-fast`` leaves out the tests marked ``slow``
(batches, notebooks, a browser), ``spark`` (a JVM) and ``notebook`` (Jupyter kernels) and runs each property with
the ``fast`` hypothesis profile. A test without one of those markers is in the fast tier.

Hypothesis profiles, chosen with ``--hypothesis-profile=NAME`` or ``$HYPOTHESIS_PROFILE``: ``full`` (the default:
each property runs the examples it asks for, :func:`examples`), ``ci`` (the same examples, derandomized: CI fails on
the same example every time) and ``fast`` (at most :data:`FAST_EXAMPLES` per property). Every profile prints the
failing example with the blob that reproduces it and has no deadline (a busy machine is not a failure).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, settings

from analysis.datasets import CDNOW_MAPPING, cdnow_sample_path

ROOT = Path(__file__).resolve().parents[1]
CDNOW = cdnow_sample_path()  # shipped in the package (analysis/data/cdnow), gzip-compressed

os.environ.setdefault("MPLBACKEND", "Agg")
# Reports show customers by pseudonym: the suite's kernels inherit this key instead of making one in ~/.config.
os.environ.setdefault("RFMKIT_PSEUDONYM_KEY", "the rfmkit test suite's pseudonym key")

# ------------------------------------------------------------------------------------------- hypothesis profiles

#: The most examples a property runs under the ``fast`` profile (the edit loop's tier).
FAST_EXAMPLES = 20

settings.register_profile(
    "full", deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
settings.register_profile("ci", settings.get_profile("full"), derandomize=True, database=None)
settings.register_profile("fast", settings.get_profile("full"), max_examples=FAST_EXAMPLES)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "full"))  # --hypothesis-profile, if given, wins


def examples(n: int) -> int:
    """A property's number of examples: ``n`` under the ``full`` and ``ci`` profiles, at most FAST_EXAMPLES under
    ``fast`` (read when the test module is imported, after the command line's profile is loaded)."""
    return min(n, FAST_EXAMPLES) if settings.get_current_profile_name().startswith("fast") else n


# ----------------------------------------------------------------------------------------------------- markers

#: Markers that keep a test out of the fast tier (``make test-fast``); defined in pyproject.toml.
SLOW_TIERS = ("slow", "spark", "notebook")


@pytest.hookimpl(wrapper=True)  # around xdist's own hook, which reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]):
    """Mark the tests that use the Spark session ``spark`` and keep every ``spark`` test on one xdist worker (with
    ``--dist loadgroup``, set in pyproject.toml), so one JVM serves the run; keep the tests sharing a module-scoped
    fixture of their module (a batch, a cleaned file) on one worker too, so it is built once per run, not per worker."""
    _group(items)
    result = yield
    _loadgroup_ids(config, items)
    return result


def _loadgroup_ids(config: pytest.Config, items: list[pytest.Item]) -> None:
    """What xdist's loadgroup does on a worker, where it did not take: the group as a suffix of the test id.

    xdist 3.8 writes the suffix into ``item._nodeid``, which pytest 9.2 no longer reads (its ids are structured), so
    the groups were silently ignored (pytest-dev/pytest-xdist#1386); with a pytest where xdist's suffix took, the id
    already ends in ``@group`` and nothing is done here."""
    if not getattr(config.option, "loadgroup", False):  # set on xdist workers under --dist loadgroup
        return
    from _pytest.nodeid import NodeId

    for item in items:
        groups = {
            str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in item.iter_markers("xdist_group")
        }
        nodeid = item.nodeid
        if groups and nodeid.rfind("@") <= nodeid.rfind("]") and hasattr(item, "_id"):
            item._id = NodeId.parse(f"{nodeid}@{'_'.join(sorted(groups))}")


def _group(items: list[pytest.Item]) -> None:
    for item in items:
        if "spark_session" in getattr(item, "fixturenames", ()) and not item.get_closest_marker("spark"):
            item.add_marker(pytest.mark.spark)
        if item.get_closest_marker("xdist_group"):
            continue
        if item.get_closest_marker("spark"):
            item.add_marker(pytest.mark.xdist_group("spark"))
            continue
        if "published_batch" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("published_batch"))
            continue
        info = getattr(item, "_fixtureinfo", None)
        module = getattr(item, "module", None)
        if info is None or module is None:
            continue
        if any(
            d.scope == "module" and getattr(d.func, "__module__", None) == module.__name__
            for defs in info.name2fixturedefs.values()
            for d in defs
        ):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))  # the module's path


# ------------------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="session")
def spark_session():
    """One local Spark session (``local[2]``) for the whole run: every test that needs Spark asks for this one
    (marked ``spark`` and kept on one xdist worker by :func:`pytest_collection_modifyitems`)."""
    from analysis.engines.spark_engine import spark_session as make_session
    from analysis.params import SparkParams

    session = make_session(
        SparkParams(
            master="local[2]",
            config={"spark.sql.shuffle.partitions": "2", "spark.ui.enabled": "false", "spark.driver.memory": "1g"},
        )
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory: pytest.TempPathFactory):
    """A Spark standalone master and one worker on 127.0.0.1 (tests/spark_cluster.py), started once from the PySpark
    installation and stopped at the end; skipped, saying why, without Java."""
    from tests.spark_cluster import start_cluster, why_no_cluster

    if (reason := why_no_cluster()) is not None:
        pytest.skip(reason)
    # two cores: the test driver's application holds one, a batch kernel's application the other
    cluster = start_cluster(tmp_path_factory.mktemp("spark-cluster"), cores=2)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def published_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small published batch, built once per run and shared by the tests that read it (kept on one xdist worker
    by :func:`pytest_collection_modifyitems`): ``rfmkit run`` of ``tests.test_batch.small_params`` (a 1,500-customer
    sample, 2024-11 and 2024-12 × North and South). The folder holds ``small.yaml`` and ``reports/``. A test that
    runs it again must leave it as it found it (a forced re-run of an unchanged run does)."""
    from click.testing import CliRunner

    from analysis.cli import main
    from tests.test_batch import small_params

    tmp = tmp_path_factory.mktemp("published_batch")
    params = small_params(tmp)
    res = CliRunner().invoke(main, ["run", str(params), "--no-progress"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "4 runs: 4 ok" in res.output
    return tmp


@pytest.fixture(scope="session")
def cdnow_raw() -> pd.DataFrame:
    from analysis.data.io import read_transactions
    from analysis.params import SourceParams

    return read_transactions(SourceParams(format="dataset", name="cdnow_sample"))


@pytest.fixture(scope="session")
def cdnow_clean(cdnow_raw: pd.DataFrame) -> pd.DataFrame:
    from analysis.data.clean import clean_transactions
    from analysis.params import CleaningParams

    params = CleaningParams(date_format="%Y%m%d", drop_duplicates=False, zero_amount="keep")
    return clean_transactions(cdnow_raw, CDNOW_MAPPING, params, origin="CDNOW").clean


@pytest.fixture(scope="session")
def small_sample() -> pd.DataFrame:
    """A dirty synthetic log of 800 customers over two years (deterministic)."""
    from analysis.data.sample import generate_transactions

    return generate_transactions(customers=800, seed=7)


def tx(rows: list[tuple], with_order: bool = True) -> pd.DataFrame:
    """A clean transaction frame from (customer_id, order_id, date, amount) tuples."""
    df = pd.DataFrame(rows, columns=["customer_id", "order_id", "order_date", "amount"])
    df["order_date"] = pd.to_datetime(df["order_date"], format="mixed").astype("datetime64[ns]")
    df["amount"] = df["amount"].astype(float)
    if not with_order:
        df = df.drop(columns="order_id")
    return df
