"""The pandas engine: the kit's own code (:func:`analysis.customers.rfm.rfm_summary` and
:func:`analysis.clv.summary.summary_from_transactions`), the reference every other engine must match."""

from __future__ import annotations

import os

import pandas as pd

from analysis.engines.base import CustomerSummary, Engine, Source, SummaryRequest, check_columns, file_format
from analysis.engines.base import resolve_files as _files


def read_clean(source: Source) -> pd.DataFrame:
    """Clean transactions from a frame (as it is) or from Parquet/CSV files (only the needed columns)."""
    if isinstance(source, pd.DataFrame):
        check_columns(list(source.columns), "the transactions")
        return source
    files = _files(source)
    name = os.fspath(source)
    if file_format(files[0]) == "parquet":
        import pyarrow.parquet as pq

        has_order = check_columns(pq.read_schema(files[0]).names, name)
        cols = ["customer_id", "order_date", "amount"] + (["order_id"] if has_order else [])
        frames = [pd.read_parquet(f, columns=cols) for f in files]
    else:
        head = pd.read_csv(files[0], nrows=0).columns
        has_order = check_columns(list(head), name)
        cols = ["customer_id", "order_date", "amount"] + (["order_id"] if has_order else [])
        dtypes = {"customer_id": "string", "order_id": "string", "amount": float}
        frames = [
            pd.read_csv(
                f, usecols=cols, dtype={k: v for k, v in dtypes.items() if k in cols}, parse_dates=["order_date"]
            )
            for f in files
        ]
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


class PandasEngine(Engine):
    """Runs the pandas code in this process; best for logs that fit comfortably in memory."""

    name = "pandas"

    def customer_summary(self, source: Source, request: SummaryRequest, *, btyd: bool = True) -> CustomerSummary:
        from analysis.clv.summary import summary_from_transactions
        from analysis.customers.rfm import rfm_summary

        tx = read_clean(source)
        rfm = rfm_summary(tx, request.as_of, request.lookback_days)
        if not btyd:
            return CustomerSummary(rfm=rfm, btyd=None)
        return CustomerSummary(
            rfm=rfm, btyd=summary_from_transactions(tx, request.as_of, request.holdout_end, request.time_unit)
        )
