"""The parts of the Spark cleaning (analysis/engines/spark_clean.py) that need no Spark: what is decided for the
whole log (the numeric-date layout), which sources are cleaned on Spark, and how the parts' counts add up. The
cleaning itself, on the executors, is compared with the pandas cleaning file for file in tests/test_spark_cluster.py.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from analysis.data.clean import MixedDateLayouts
from analysis.engines.spark_clean import _layouts, _sum_nested, cleans_on_spark, date_layout
from analysis.params import CleaningParams, RunParams


def layout(*columns: list[str | None]) -> tuple[bool, bool]:
    """The whole column's flags from batches of it, or-ed as the driver does."""
    flags = [b.to_pylist()[0] for b in _layouts()(pa.RecordBatch.from_pydict({"d": c}) for c in columns)]
    return any(f["day_first"] for f in flags), any(f["month_first"] for f in flags)


def test_the_date_layout_is_decided_for_the_whole_column() -> None:
    # one part holds only an ambiguous date: the other's 31/01/2024 makes the column, and so every part, day-first
    assert layout(["03/01/2024", "2024-01-05", None], [" 31/01/2024 ", "(blank)"]) == (True, False)
    assert date_layout(CleaningParams(), True, False, "log: column 'order_date'").dayfirst
    assert not date_layout(CleaningParams(), False, False, "log").dayfirst  # month-first, as the pandas cleaning
    assert layout(["31/01/2024"], ["01/31/2024"]) == (True, True)
    with pytest.raises(MixedDateLayouts, match=r"^log: column 'order_date': the dates mix day-first and month-first"):
        date_layout(CleaningParams(), True, True, "log: column 'order_date'")


def test_which_sources_are_cleaned_on_spark(tmp_path: Path) -> None:
    def params(path: str, engine: str = "spark", fmt: str = "auto") -> RunParams:
        month = {"start": "2024-01", "end": "2024-01"}
        return RunParams.model_validate({"source": {"path": path, "format": fmt}, "engine": engine, "periods": month})

    assert cleans_on_spark(params(str(tmp_path)))  # a folder (of Parquet files: the source check says if not)
    assert cleans_on_spark(params("log.parquet"))
    assert not cleans_on_spark(params("log.csv"))  # read as text and cleaned on the batch's machine
    assert not cleans_on_spark(params("log.parquet", engine="duckdb"))


def test_the_parts_counts_add_up() -> None:
    parts = [{"customer_id": {"": 1, "NULL": 2}}, {"customer_id": {"(blank)": 3, "NULL": 1}, "region": {"-": 1}}]
    assert _sum_nested(parts) == {"customer_id": {"": 1, "(blank)": 3, "NULL": 3}, "region": {"-": 1}}
    assert list(_sum_nested(parts)["customer_id"]) == ["", "(blank)", "NULL"]  # sorted, as the cleaning lists them
    assert _sum_nested([{"order_id": 2}, {"order_id": 3, "region": 1}]) == {"order_id": 5, "region": 1}
