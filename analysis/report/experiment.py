"""Tables of "Did last period's actions work?" (see :mod:`analysis.strategy.experiment` for every definition).

Each function takes the measurement and returns a frame indexed by the reader-facing action name, ready for
:func:`analysis.report.tables.styled`; words come from the text catalog (``experiment.*``). An action whose result
is not reliable (:func:`analysis.strategy.experiment.with_reliability`: too few orders or customers in a group)
shows no uplift, revenue uplift, incremental revenue or ROI, and a column *reliability* says why.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from analysis import text

#: Columns shown as percentages (shares 0–1) in the tables below.
PERCENT_COLUMNS: tuple[str, ...] = (
    "treated_response_rate", "control_response_rate", "uplift", "uplift_ci_low", "uplift_ci_high",
    "assumed_uplift", "measured_uplift", "uplift_used", "power", "weight_measured", "share_contacted", "uplift_reached",
)  # fmt: skip
#: Columns shown as money.
MONEY_COLUMNS: tuple[str, ...] = (
    "treated_revenue_per_customer", "control_revenue_per_customer", "revenue_uplift", "revenue_uplift_ci_low",
    "revenue_uplift_ci_high", "incremental_revenue", "budget", "revenue_uplift_reached",
)  # fmt: skip


#: The figures an unreliable result does not show (its rates, group sizes, intervals and budget stay).
HIDDEN_WHEN_UNRELIABLE: tuple[str, ...] = (
    "uplift", "revenue_uplift", "incremental_revenue", "roi", "uplift_reached", "revenue_uplift_reached",
)  # fmt: skip


def _reliable_only(results: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """``results[cols]`` (index ``action``) with the :data:`HIDDEN_WHEN_UNRELIABLE` figures of unreliable rows
    blank, and the column ``reliability`` when any row is unreliable."""
    table = results.set_index("action")[cols].copy()
    if "reliable" not in results.columns or results["reliable"].all():
        return table
    bad = ~results.set_index("action")["reliable"].astype(bool)
    table.loc[bad, [c for c in HIDDEN_WHEN_UNRELIABLE if c in table.columns]] = float("nan")
    table["reliability"] = results.set_index("action")["reliability"]
    return table


def _named(frame: pd.DataFrame, labels: Mapping[str, str] | None) -> pd.DataFrame:
    names = labels or {}
    out = frame.copy()
    out.index = pd.Index([str(names.get(a, a)) for a in out.index], name="action")
    return out


def response_table(results: pd.DataFrame, labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Per action: customers treated and held out, the share of the treated the CRM contacted, response rates, the
    uplift (intention to treat: every treated customer) with its 95 % interval, the uplift on those reached (÷ the
    share contacted), the playbook's assumed uplift and the power the groups had to detect it."""
    cols = [
        "treated_customers", "control_customers", "share_contacted", "treated_response_rate", "control_response_rate",
        "uplift", "uplift_ci_low", "uplift_ci_high", "uplift_reached", "assumed_uplift", "power",
    ]  # fmt: skip
    return _named(_reliable_only(results, cols), labels)


def revenue_table(results: pd.DataFrame, labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Per action: revenue per customer in each group, the uplift with its 95 % interval, incremental revenue,
    budget and measured ROI (currency)."""
    cols = [
        "treated_revenue_per_customer", "control_revenue_per_customer", "revenue_uplift", "revenue_uplift_ci_low",
        "revenue_uplift_ci_high", "revenue_uplift_reached", "incremental_revenue", "budget", "roi",
    ]  # fmt: skip
    return _named(_reliable_only(results, cols), labels)


def learning_table(
    learned: pd.DataFrame,
    language: str,
    labels: Mapping[str, str] | None = None,
    min_group_customers: int = 30,
) -> pd.DataFrame:
    """Per action: the assumed and measured uplift, the one the recommendations use, on which basis and why."""
    t = learned[["assumed_uplift", "measured_uplift", "weight_measured", "uplift_used"]].copy()
    t["uplift_basis"] = [text.t(f"experiment.basis.{b}", language) for b in learned["uplift_basis"]]
    t["reason"] = [text.t(f"experiment.reason.{r}", language, min=min_group_customers) for r in learned["reason"]]
    return _named(t, labels)
