"""One grouping of a customer summary, shared by the model fits and the predictions.

A million customers have about a hundred thousand distinct purchase histories (x, t_x, T).
:class:`DistinctSummary` finds them once, with the number of customers on each and each customer's row, and
keeps the repeat customers' (x, monetary_value) spends beside them; every step that follows uses them:

* the purchase models' fits (BG/NBD, Pareto/NBD, MBG/NBD) take the distinct histories and their weights,
  Gamma-Gamma's fit the repeat spends, which it reduces itself to their distinct x and distinct total spends
  x m (``model.fit(rows)`` in place of ``model.fit(summary)``);
* the predictions (:meth:`~analysis.clv._transaction.TransactionModel.conditional_probability_alive`,
  expected and discounted purchases, :meth:`~analysis.clv.gamma_gamma.GammaGamma.conditional_expected_average_profit`,
  :func:`~analysis.clv.value.customer_lifetime_value`, :func:`~analysis.clv.value.predict_customers`) are
  computed once per distinct row and spread to the customers through the stored row of each.

Without it each of these steps groups the whole summary again (a fit, a Gamma-Gamma fit and four
predictions: six groupings of every customer). The numbers are the same either way: a fit on the
distinct rows with their counts as weights is the fit on the customers (the likelihood is a weighted sum
over the distinct rows in both cases), and a prediction depends only on a customer's row.

>>> rows = DistinctSummary.from_summary(summary)                      # doctest: +SKIP
>>> bg, gg = BGNBD().fit(rows), GammaGamma().fit(rows)                 # doctest: +SKIP
>>> clv = customer_lifetime_value(bg, gg, rows, horizon=52)            # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.clv._compress import Grouped, each_row, group_rows, lattice_group
from analysis.clv.summary import TIME_UNITS, unit_days
from analysis.errors import InputError

#: The columns of the purchase models (one distinct history per customer).
HISTORY_COLUMNS = ("frequency", "t_x", "T")
#: The columns of Gamma-Gamma (one repeat spend per repeat customer).
SPEND_COLUMNS = ("frequency", "monetary_value")


@dataclass(frozen=True, eq=False)
class DistinctSummary:
    """A customer summary grouped once (see the module docstring); build it with :meth:`from_summary`.

    Attributes
    ----------
    index : Index
        The customers (the summary's index), in the summary's order: predictions are indexed by it.
    time_unit : str
        Unit of t_x and T ('D', 'W' or 'M').
    histories : Grouped
        The distinct (frequency, t_x, T) rows; ``weights`` are the customers on each (summed summary
        weights), ``inverse[i]`` the row of customer ``i``.
    spends : Grouped
        The repeat customers' (frequency, monetary_value) rows, one per repeat customer in the summary's order
        (:func:`~analysis.clv._compress.each_row`: Gamma-Gamma's fit reduces them to its distinct x and distinct
        total spends itself, and its prediction is a few operations per customer, so grouping them would be a pass
        for nothing), whatever their spend (a zero or missing spend is the fit's to refuse); ``weights`` are the
        summary weights, ``inverse`` is ``0 .. n_repeat - 1``.
    repeat : ndarray of int
        Positions (in ``index``) of the repeat customers.
    attrs : dict
        ``{"time_unit": time_unit}``, as a summary's ``attrs`` (the predictions check the unit there).
    fit_inputs : dict
        What each model's fit derived from these rows before optimising (validated rows, sufficient statistics,
        exploration sample), kept by the fit so that refitting the same model (another penalizer) starts there.
    """

    index: pd.Index
    time_unit: str
    histories: Grouped
    spends: Grouped
    repeat: np.ndarray
    attrs: dict = field(default_factory=dict)
    fit_inputs: dict = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.index)

    @property
    def n_unique(self) -> int:
        """Distinct (frequency, t_x, T) histories."""
        return self.histories.n_unique

    @classmethod
    def from_summary(
        cls,
        summary: pd.DataFrame,
        weights: Sequence[float] | np.ndarray | pd.Series | None = None,
        time_unit: str | None = None,
    ) -> DistinctSummary:
        """Group ``summary`` (columns ``frequency``, ``t_x``, ``T`` and, for Gamma-Gamma, ``monetary_value``)
        once. ``weights``: customers each row stands for (default 1); ``time_unit`` defaults to
        ``summary.attrs['time_unit']``. The values are checked by the fits and predictions that use them."""
        unit = time_unit if time_unit is not None else summary.attrs.get("time_unit")
        if unit not in TIME_UNITS:
            raise InputError(
                f"time unit of the summary is {unit!r}: pass time_unit='D', 'W' or 'M' or build the summary with "
                "summary_from_transactions"
            )
        missing = [c for c in HISTORY_COLUMNS if c not in summary.columns]
        if missing:
            raise InputError(f"summary lacks column(s) {missing}; build it with summary_from_transactions")
        n = len(summary)
        try:
            x, tx, T = (summary[c].to_numpy(dtype=float) for c in HISTORY_COLUMNS)
            m = (
                summary["monetary_value"].to_numpy(dtype=float)
                if "monetary_value" in summary.columns
                else np.full(n, np.nan)
            )
        except (TypeError, ValueError):
            raise InputError("frequency, t_x, T and monetary_value must be numbers") from None
        w = None
        if weights is not None:
            w = np.asarray(weights, dtype=float)
            if w.shape != (n,) or not np.all(np.isfinite(w)) or np.any(w < 0):
                raise InputError("weights must be one finite non-negative number per summary row")
        days = unit_days(unit)
        steps = {"frequency": 1.0, "t_x": days, "T": days}
        histories = lattice_group({"frequency": x, "t_x": tx, "T": T}, steps, w)  # one counting pass
        if histories is None:  # times not whole days, or too many of them: per-column codes
            histories = group_rows({"frequency": x, "t_x": tx, "T": T}, steps, w, with_inverse=True)
        repeat = np.flatnonzero(x > 0)
        # the repeat customers' (x, monetary_value) rows as they are: Gamma-Gamma's fit reduces them itself (to its
        # distinct x and distinct total spends x m) and its prediction is a few operations per customer, so a
        # grouping of these rows would be a pass for nothing
        spends = each_row(
            {"frequency": x.take(repeat), "monetary_value": m.take(repeat)},
            None,
            None if w is None else w.take(repeat),
        )
        return cls(summary.index, unit, histories, spends, repeat, {"time_unit": unit})

    def grouped(self, columns: Sequence[str]) -> Grouped:
        """The grouping a model with data ``columns`` is fitted on (every level of every column used, as a fit's
        own grouping would make it): the histories for :data:`HISTORY_COLUMNS`, the spends for
        :data:`SPEND_COLUMNS`."""
        columns = tuple(columns)
        if set(columns) <= set(HISTORY_COLUMNS):
            return self.histories
        if set(columns) <= set(SPEND_COLUMNS):
            return self.spends
        raise InputError(f"no distinct rows of {list(columns)}: a DistinctSummary holds {HISTORY_COLUMNS} and "
                         f"{SPEND_COLUMNS}")  # fmt: skip

    def rows(self, columns: Sequence[str], *, named: bool = False) -> pd.DataFrame:
        """The distinct rows of :meth:`grouped` as a frame of ``columns`` with their weights in ``_w``. Indexed by
        row number, or with ``named`` by one customer of each row (for a message naming bad rows' customers)."""
        grouped = self.grouped(columns)
        index: pd.Index = pd.RangeIndex(grouped.n_unique)
        if named:
            one = np.empty(grouped.n_unique, dtype=np.int64)
            one[grouped.inverse] = np.arange(len(grouped.inverse))  # a customer of each row (any one will do)
            index = self.index[one if grouped is self.histories else self.repeat[one]]
        frame = pd.DataFrame({c: grouped.values[c] for c in columns}, index=index)
        frame["_w"] = grouped.weights
        return frame
