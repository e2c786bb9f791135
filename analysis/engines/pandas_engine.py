"""The pandas engine: the kit's own code (:func:`analysis.customers.rfm.rfm_summary` and
:func:`analysis.clv.summary.summary_from_transactions`), the reference every other engine must match."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from analysis.engines.base import (
    SCORE_TEXT,
    CustomerSummary,
    Engine,
    ScoreInputs,
    ScoreRequest,
    Source,
    SummaryRequest,
    check_columns,
    day_timestamp,
    file_format,
    local_days,
)
from analysis.engines.base import resolve_files as _files
from analysis.errors import InputError


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

        tx = local_days(read_clean(source), request.timezone)
        rfm = rfm_summary(tx, request.as_of, request.lookback_days)
        if not btyd:
            return CustomerSummary(rfm=rfm, btyd=None)
        return CustomerSummary(
            rfm=rfm, btyd=summary_from_transactions(tx, request.as_of, request.holdout_end, request.time_unit)
        )

    def score_inputs(self, source: Source, request: ScoreRequest) -> ScoreInputs:
        """The kit's own functions on the rows up to ``as_of``: :func:`analysis.customers.rfm.rfm_summary` (as of
        ``as_of`` and ``previous_end``), :func:`analysis.clv.summary.summary_from_transactions` and
        :func:`analysis.customers.lifecycle.purchase_facts`."""
        from analysis.clv.run_rate import run_rate_facts
        from analysis.clv.summary import summary_from_transactions
        from analysis.customers.lifecycle import purchase_facts
        from analysis.customers.rfm import rfm_summary

        tx = local_days(read_clean(source), request.timezone)  # time-zoned dates on the params' wall clock
        raw = tx["order_date"].to_numpy(dtype="datetime64[ns]")
        day = raw.astype("datetime64[D]").astype("int64")
        known = ~np.isnat(raw)
        first_day = day_timestamp(int(day[known].min())) if known.any() else None
        last_day = day_timestamp(int(day[known].max())) if known.any() else None
        as_of, prev = day_timestamp(request.as_of_n), day_timestamp(request.prev_n)
        upto = known & (day <= request.as_of_n)
        if not upto.all():
            tx = tx[upto]
        btyd, error = None, None
        try:
            btyd = summary_from_transactions(tx, as_of, None, request.time_unit)
        except InputError as err:
            error = str(err)
        has_previous = bool((day[upto] <= request.prev_n).any())
        return ScoreInputs(
            rfm=_score_ids(rfm_summary(tx, as_of, request.lookback_days)),
            rfm_previous=_score_ids(rfm_summary(tx, prev, request.lookback_days)) if has_previous else None,
            btyd=None if btyd is None else _score_ids(btyd),
            btyd_error=error,
            lifecycle=_score_ids(purchase_facts(tx, as_of, prev)),
            first_day=first_day,
            last_day=last_day,
            run_rate=None if btyd is None else _score_ids(run_rate_facts(tx, as_of)),
        )


def _score_ids(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its ``customer_id`` index of the score step's text type, as every engine gives it
    (:data:`analysis.engines.base.SCORE_TEXT`; an Arrow cast, no conversion of the ids' values)."""
    if frame.index.dtype == SCORE_TEXT:
        return frame
    return frame.set_axis(frame.index.astype(SCORE_TEXT), axis=0)
