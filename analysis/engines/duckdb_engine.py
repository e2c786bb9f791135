"""The DuckDB engine: the shared SQL (:mod:`analysis.engines.sql`) on an in-process DuckDB database.

Files are read by DuckDB itself (``read_parquet``/``read_csv`` over a file, a folder or a glob),
never through pandas, so only the columns the step needs are read and the log never has to fit in
memory: with ``memory_limit`` set, DuckDB's aggregations spill to ``temp_directory`` past it.
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from analysis.engines.base import Source, SQLEngine, check_columns, file_format, resolve_files
from analysis.engines.sql import DUCKDB_MACROS, duckdb_text
from analysis.params import DuckDBParams

_VIEW = """
CREATE OR REPLACE TEMP VIEW transactions AS
SELECT CAST(customer_id AS STRING) AS customer_id,
       {order_id} AS order_id,
       unix_date(CAST(order_date AS DATE)) AS day_n,
       CAST(amount AS DOUBLE) AS amount
FROM raw_input
"""


class DuckDBEngine(SQLEngine):
    """The shared SQL on DuckDB; ``params`` set its memory limit, spill folder and threads."""

    name = "duckdb"

    def __init__(self, params: DuckDBParams | None = None) -> None:
        import duckdb

        self.params = params or DuckDBParams()
        # every result is sorted by customer_id on the Python side (:class:`analysis.engines.base._Sorted`), so
        # DuckDB need not keep rows in input order, which lets it stream and spill with less memory
        config: dict[str, object] = {"preserve_insertion_order": False}
        if self.params.memory_limit:
            config["memory_limit"] = self.params.memory_limit
        if self.params.temp_directory:
            os.makedirs(self.params.temp_directory, exist_ok=True)
            config["temp_directory"] = self.params.temp_directory
        if self.params.threads:
            config["threads"] = self.params.threads
        self.con = duckdb.connect(":memory:", config=config)
        for macro in DUCKDB_MACROS:
            self.con.execute(macro)

    def register(self, source: Source) -> str:
        if isinstance(source, pd.DataFrame):
            origin = "the transactions"
            rel = self.con.from_df(source)
        else:
            files = [str(f) for f in resolve_files(source)]
            origin = os.fspath(source)
            if file_format(files[0]) == "parquet":
                rel = self.con.read_parquet(files)
            else:
                header = self.con.read_csv(files[0], header=True).columns
                ids = {c: "VARCHAR" for c in ("customer_id", "order_id") if c in header}  # '0001' stays text
                rel = self.con.read_csv(files, header=True, dtype=ids)
        has_order = check_columns(list(rel.columns), origin)
        rel.create_view("raw_input", replace=True)
        self.con.execute(_VIEW.format(order_id="CAST(order_id AS STRING)" if has_order else "CAST(NULL AS STRING)"))
        return origin

    def use_timezone(self, timezone: str | None) -> None:
        """DuckDB casts a TIMESTAMPTZ column to days on its session time zone: the params' (UTC when None)."""
        self.con.execute(f"SET TimeZone = '{timezone or 'UTC'}'")  # an IANA name validated by the params

    def query(self, sql: str, params: dict[str, int]) -> pd.DataFrame:
        return self.query_table(sql, params).to_pandas()

    def query_table(self, sql: str, params: dict[str, int]) -> Any:
        """The result as DuckDB's Arrow table (``pyarrow.Table``), without a pandas copy."""
        return self.con.sql(duckdb_text(sql), params=params or None).to_arrow_table()

    def close(self) -> None:
        self.con.close()
