"""Stalled deals: open deals that have been in their stage longer than deals usually stay there.

As of the run's last day (the period's last day, or the export's last day when that is earlier), an open deal's
*age* is the days since it entered its current stage (with stage history) or since it was created (without: the
current stage's entry day is unknown). Its *threshold* is ``funnel.stalled_days`` when the params give one, else the
90th percentile of the days deals spent in that stage (with history; over every spell that ended on or before the
run's last day) or of the created-to-close days of won deals (without history; closed on or before that day), once at
least ``funnel.min_exits`` deals are behind the percentile. A deal older than its threshold is stalled. Deals without
a start day (no created date, no history) cannot be aged and are counted, not listed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.sales.funnel import open_at, spells
from analysis.sales.inputs import SalesData

#: The columns of ``stalled_deals.csv``.
STALLED_COLUMNS: tuple[str, ...] = (
    "opportunity_id", "sales_rep", "customer_id", "stage", "since", "age_days", "threshold_days", "amount", "product",
)  # fmt: skip


@dataclass(frozen=True)
class Stalled:
    """Stalled deals as of ``as_of``: ``deals`` (:data:`STALLED_COLUMNS`, oldest beyond threshold first, indexed by
    position), ``thresholds`` (days per stage, NaN when too few deals left the stage), ``not_aged`` (open deals
    without a start day)."""

    deals: pd.DataFrame
    thresholds: pd.Series
    as_of: pd.Timestamp
    not_aged: int


def stalled_deals(
    data: SalesData, as_of: pd.Timestamp, stalled_days: float | None = None, min_exits: int = 10
) -> Stalled:
    """The open deals as of ``as_of`` older than their stage's threshold (see the module docstring)."""
    opps = data.opportunities
    is_open = open_at(opps, as_of, data.data_end)
    stages = data.stages[:-1]
    if data.has_history:
        sp = spells(data)
        now = sp.loc[(sp["entered_at"] <= as_of)]
        current = now.groupby("opportunity_id").tail(1).set_index("opportunity_id")
        current = current.loc[current.index.isin(opps.index[is_open]) & current["stage"].isin(stages)]
        stage, since = current["stage"], current["entered_at"]
        done = sp.loc[sp["left_at"] <= as_of]
        per_stage = {s: done.loc[done["stage"] == s, "days"] for s in stages}
    else:
        current = opps.loc[is_open]
        stage = current["stage"].where(current["close_date"].isna() | (as_of >= data.data_end), pd.NA)
        since = current["created_date"]
        won = opps.loc[(opps["status"] == "won") & (opps["close_date"] <= as_of)]
        cycle = (won["close_date"] - won["created_date"]).dt.days.dropna().astype(float)
        per_stage = {s: cycle for s in stages}
    if stalled_days is not None:
        thresholds = pd.Series(float(stalled_days), index=stages)
    else:
        thresholds = pd.Series(
            {s: float(v.quantile(0.9)) if len(v.dropna()) >= min_exits else np.nan for s, v in per_stage.items()},
            dtype=float,
        )
    age = (as_of - since).dt.days.astype(float)
    frame = pd.DataFrame({"stage": stage, "since": since, "age_days": age})
    frame["threshold_days"] = frame["stage"].map(thresholds).astype(float)
    if not data.has_history:  # a deal closed after as_of: its stage at as_of is unknown; the cycle threshold holds
        frame["threshold_days"] = frame["threshold_days"].fillna(thresholds.iloc[0] if len(thresholds) else np.nan)
    aged = frame["age_days"].notna()
    hit = frame.loc[aged & (frame["age_days"] > frame["threshold_days"])]
    info = opps.reindex(hit.index)
    deals = pd.DataFrame(
        {
            "opportunity_id": hit.index.astype(str),
            "sales_rep": info["sales_rep"].to_numpy(),
            "customer_id": info["customer_id"].to_numpy(),
            "stage": hit["stage"].to_numpy(),
            "since": hit["since"].dt.date.to_numpy(),
            "age_days": hit["age_days"].astype(int).to_numpy(),
            "threshold_days": hit["threshold_days"].to_numpy(),
            "amount": info["amount"].to_numpy(),
            "product": info["product"].to_numpy() if "product" in info.columns else pd.NA,
        }
    )
    over = deals["age_days"] - deals["threshold_days"]
    deals = deals.iloc[np.lexsort((deals["opportunity_id"].to_numpy(), -over.to_numpy()))].reset_index(drop=True)
    return Stalled(deals=deals, thresholds=thresholds, as_of=as_of, not_aged=int((~aged).sum()))
