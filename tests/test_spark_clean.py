"""The parts of the Spark cleaning (analysis/engines/spark_clean.py) that need no Spark: what is decided for the
whole log (the numeric-date layout), which sources are cleaned on Spark, how Spark's file names find their row
offsets, and the executors' step on hand-made parts put together as the driver does, compared with the pandas
cleaning of the whole log. The cleaning on a cluster is compared with the pandas cleaning file for file in
tests/test_spark_cluster.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from analysis.data.clean import MixedDateLayouts, clean_transactions
from analysis.engines.spark_clean import (
    KEY,
    ROW,
    _clean_parts,
    _combine,
    _file_offsets,
    _layouts,
    _sum_nested,
    cleans_on_spark,
    date_layout,
    spark_file_path,
)
from analysis.errors import InputError
from analysis.params import CleaningParams, RunParams


def layout(*columns: list[str | None], cleaning: CleaningParams | None = None) -> tuple[bool, bool]:
    """The whole column's flags from batches of it, or-ed as the driver does."""
    run = _layouts(cleaning or CleaningParams())
    flags = [b.to_pylist()[0] for b in run(pa.RecordBatch.from_pydict({"d": c}) for c in columns)]
    return any(f["day_first"] for f in flags), any(f["month_first"] for f in flags)


def test_the_date_layout_is_decided_for_the_whole_column() -> None:
    # one part holds only an ambiguous date: the other's 31/01/2024 makes the column, and so every part, day-first
    assert layout(["03/01/2024", "2024-01-05", None], [" 31/01/2024 ", "(blank)"]) == (True, False)
    # read as the cleaning reads date text: a zero-width space (a format character) removed first
    assert layout(["03/01/2024"], ["\u200b31/01/2024"]) == (True, False)
    assert layout(["13/01/2024"], cleaning=CleaningParams(missing_tokens=["13/01/2024"])) == (False, False)
    assert date_layout(True, False, "log: column 'order_date'") is True
    assert date_layout(False, False, "log") is False  # month-first, as the pandas cleaning
    assert layout(["31/01/2024"], ["01/31/2024"]) == (True, True)
    with pytest.raises(MixedDateLayouts, match=r"^log: column 'order_date': the dates mix day-first and month-first"):
        date_layout(True, True, "log: column 'order_date'")


def clean_in_parts(raw: pd.DataFrame, parts: list[list[int]], cleaning: CleaningParams, origin: str = "log"):
    """``raw`` cleaned as the Spark cleaning does, without Spark: the driver's layout probe over the parts, the
    executors' step (:func:`_clean_parts`) on each part (rows given by their ids; whole customers), the driver's
    :func:`_combine`."""
    day_first, month_first = layout(*(raw["order_date"].iloc[p].tolist() for p in parts), cleaning=cleaning)
    numeric = date_layout(day_first, month_first, f"{origin}: column 'order_date'")
    run = _clean_parts({}, cleaning.model_copy(update={"outlier_mad": None}), origin, [], numeric)
    rows = []
    for p in parts:
        batch = pa.RecordBatch.from_pandas(raw.iloc[p].assign(**{ROW: p, KEY: "k"}), preserve_index=False)
        for out in run(iter([batch])):
            rows += list(zip(out.column(0).to_pylist(), out.column(1).to_pylist(), strict=True))
    return _combine(rows, cleaning, origin, {})


def test_the_parts_cleaned_with_the_columns_layout_equal_the_whole_log_cleaned() -> None:
    """The Spark cleaning's parts, put together, give the pandas cleaning of the whole log: the numeric-date layout
    passed as its own argument (2024/01/03 stays 3 January beside a day-first column; a zero-width space does not
    hide 31/01/2024), the rows without an id a sale or a return by the cleaning's rule (a "-0.0" sale kept with
    zero_amount: keep is a sale), quality.json's nested counts in the cleaning's order, byte for byte."""
    raw = pd.DataFrame({
        "customer_id": ["1", "2", "2", "3", "(blank)", "", "NULL", "4"],
        "order_date": ["\u200b31/01/2024", "2024/01/03", "03/01/2024", "\u200b05/02/2024", "2024-01-04", "2024-01-05",
                       "02/01/2024", "2024-01-06"],
        "amount": ["10", "20", "30", "40", "-0.0", "-5", "7", "8"],
        "region": ["N/A", "North", "North", "South", "North", "North", "North", "\u200bSouth"],
    })  # fmt: skip
    cleaning = CleaningParams(zero_amount="keep")
    whole = clean_transactions(raw, {}, cleaning, "log").matched()
    # customer 1's day-first date (behind a zero-width space) in one part, customer 2's dates in another, the rows
    # without an id in a third
    parts = clean_in_parts(raw, [[0, 3], [1, 2, 7], [4, 5, 6]], cleaning)
    assert whole.clean["order_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-01-31", "2024-01-03", "2024-01-03", "2024-02-05", "2024-01-06"]  # fmt: skip
    for kind in ("clean", "quarantine", "returns", "anonymous", "allocations"):
        pd.testing.assert_frame_equal(getattr(parts, kind), getattr(whole, kind), check_dtype=False, obj=kind)
    assert whole.quality["anonymous_sales"] == {"rows": 2, "revenue": 7.0}  # "-0.0" and 7: sales; -5 a return
    assert json.dumps(parts.quality) == json.dumps(whole.quality)  # same keys in the same order, same numbers
    np.testing.assert_array_equal(parts.anonymous_is_return, whole.anonymous_is_return)


def test_spark_file_names_find_their_offsets_through_symlinks_and_accents(tmp_path: Path) -> None:
    """Spark names a folder's files by URIs (spaces encoded, accents as they are or encoded, a symlink as given):
    each is read back as a path and matched to the folder's files by its real path."""
    real = tmp_path / "données réelles"
    real.mkdir()
    pd.DataFrame({"a": [1, 2]}).to_parquet(real / "part-0.parquet")
    pd.DataFrame({"a": [3, 4, 5]}).to_parquet(real / "part-1.parquet")
    link = tmp_path / "lien vers données"
    os.symlink(real, link)
    names = [f"file:{link}/part-0.parquet".replace(" ", "%20"),
             f"file://{link}/part-1.parquet".replace(" ", "%20").replace("é", "%C3%A9")]  # fmt: skip
    offsets = _file_offsets(link, names)
    assert [offsets[spark_file_path(n)] for n in names] == [0, 2]
    assert spark_file_path(names[0]) == f"{link}/part-0.parquet"
    with pytest.raises(InputError, match=r"not among the folder's Parquet files"):
        _file_offsets(link, [*names, f"file:{tmp_path}/other.parquet"])


def test_a_folders_files_are_listed_in_the_order_pandas_reads_them(tmp_path: Path) -> None:
    """``x=a-b/`` sorts before ``x=a/`` as path strings (pyarrow's order), after it part by part."""
    from analysis.data.io import parquet_files

    for i, sub in enumerate(["x=a", "x=a-b", "x=b"]):
        (tmp_path / sub).mkdir()
        pd.DataFrame({"n": [i]}).to_parquet(tmp_path / sub / "part-0.parquet")
    order = [int(pd.read_parquet(f)["n"].iloc[0]) for f in parquet_files(tmp_path)]
    assert order == pd.read_parquet(tmp_path)["n"].tolist() == [1, 0, 2]


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
    # columns in the order the cleaning reads them, whatever part shows them first
    assert list(_sum_nested([{"region": {"-": 1}}, {"customer_id": {"": 1}, "order_id": {"": 2}}])) == [
        "customer_id", "order_id", "region"]  # fmt: skip
    assert _sum_nested([{"order_id": 2}, {"order_id": 3, "region": 1}]) == {"order_id": 5, "region": 1}


def test_a_parquet_folders_key_reads_its_footers_and_a_url_source_is_refused(tmp_path: Path) -> None:
    """The batch's cleaned-data key of a folder of Parquet files changes with any file's rows (its footer's
    statistics, even with the modification time set back) and with a file's modification time; a URL source is
    refused by name, with the fix."""
    from analysis.data.store import source_key

    folder = tmp_path / "log"
    folder.mkdir()
    log = pd.DataFrame({"customer_id": ["1", "2"], "order_date": ["2024-01-02", "2024-01-03"], "amount": [10.0, 20.0]})
    for i in range(2):
        log.to_parquet(folder / f"part-{i}.parquet", index=False)

    def key(path: str = str(folder)) -> str:
        month = {"start": "2024-01", "end": "2024-01"}
        return source_key(RunParams.model_validate({"source": {"path": path}, "engine": "spark", "periods": month}))

    first = key()
    assert key() == first
    part = folder / "part-1.parquet"
    stamp, size = part.stat().st_mtime_ns, part.stat().st_size
    log.assign(amount=[10.0, 21.0]).to_parquet(part, index=False)  # one amount changed: same size, other stats
    os.utime(part, ns=(stamp, stamp))
    assert part.stat().st_size == size
    changed = key()
    assert changed != first
    os.utime(part, ns=(stamp + 10**9, stamp + 10**9))  # touched: cleaned again (it may have changed)
    assert key() not in (first, changed)
    from analysis.data.io import check_source
    from analysis.params import SourceParams

    for url in ("s3a://lake/raw/", "hdfs://nn:8020/raw"):
        with pytest.raises(InputError, match=rf"^{url}: source.path is a URL; .*mount the storage"):
            key(url)
        with pytest.raises(InputError, match=rf"^{url}: source.path is a URL; .*mount the storage"):
            check_source(SourceParams(path=url))  # the batch's first check
