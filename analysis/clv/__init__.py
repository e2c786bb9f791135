"""Customer lifetime value: buy-till-you-die models fitted by maximum likelihood.

Modules: :mod:`~analysis.clv.summary` (x, t_x, T, m per customer), :mod:`~analysis.clv.bgnbd`,
:mod:`~analysis.clv.mbgnbd`, :mod:`~analysis.clv.pareto_nbd`, :mod:`~analysis.clv.gamma_gamma`
(models), :mod:`~analysis.clv.value` (P(alive), expected purchases and spend, CLV),
:mod:`~analysis.clv.validation` (holdout checks), :mod:`~analysis.clv.persist` (JSON),
:mod:`~analysis.clv.pipeline` (functions for the CLI and notebooks) and
:mod:`~analysis.clv.simulate` (simulated customers). Plots live in :mod:`analysis.report.plots.clv`.
"""

from analysis.clv._base import SummaryDataError
from analysis.clv.bgnbd import BGNBD
from analysis.clv.gamma_gamma import GammaGamma, IndependenceWarning
from analysis.clv.mbgnbd import ModifiedBGNBD
from analysis.clv.pareto_nbd import ParetoNBD
from analysis.clv.persist import load_model, save_model
from analysis.clv.pipeline import CLVResult, customer_value, fit_clv, write_clv
from analysis.clv.summary import TIME_UNITS, summary_from_transactions
from analysis.clv.validation import holdout_by_frequency, holdout_errors, tracking_curve
from analysis.clv.value import customer_lifetime_value, predict_customers, totals_by_segment

__all__ = [
    "BGNBD",
    "TIME_UNITS",
    "CLVResult",
    "GammaGamma",
    "IndependenceWarning",
    "ModifiedBGNBD",
    "ParetoNBD",
    "SummaryDataError",
    "customer_lifetime_value",
    "customer_value",
    "fit_clv",
    "holdout_by_frequency",
    "holdout_errors",
    "load_model",
    "predict_customers",
    "save_model",
    "summary_from_transactions",
    "totals_by_segment",
    "tracking_curve",
    "write_clv",
]
