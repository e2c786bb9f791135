"""Customer lifetime value: buy-till-you-die models fitted by maximum likelihood.

Modules: :mod:`~analysis.clv.summary` (x, t_x, T, m per customer), :mod:`~analysis.clv.bgnbd`,
:mod:`~analysis.clv.mbgnbd`, :mod:`~analysis.clv.pareto_nbd`, :mod:`~analysis.clv.gamma_gamma`
(models), :mod:`~analysis.clv.value` (P(alive), expected purchases and spend, CLV),
:mod:`~analysis.clv.validation` (holdout checks), :mod:`~analysis.clv.persist` (JSON),
:mod:`~analysis.clv.pipeline` (functions for the CLI and notebooks, with fallbacks),
:mod:`~analysis.clv.run_rate` (the run-rate estimate used when no model can be estimated) and
:mod:`~analysis.clv.simulate` (simulated customers). Plots live in :mod:`analysis.report.plots.clv`.
"""

from analysis.clv._base import CLVFitError, SummaryDataError
from analysis.clv.bgnbd import BGNBD
from analysis.clv.gamma_gamma import GammaGamma, IndependenceWarning
from analysis.clv.mbgnbd import ModifiedBGNBD
from analysis.clv.pareto_nbd import ParetoNBD
from analysis.clv.persist import load_model, save_model
from analysis.clv.pipeline import CLVResult, CustomerValue, customer_value, estimate_customer_value, fit_clv, write_clv
from analysis.clv.run_rate import RunRateEstimate, run_rate_value
from analysis.clv.summary import TIME_UNITS, summary_from_transactions
from analysis.clv.validation import holdout_by_frequency, holdout_errors, tracking_curve
from analysis.clv.value import (
    PAliveCheck,
    customer_lifetime_value,
    p_alive_separation,
    predict_customers,
    totals_by_segment,
)

__all__ = [
    "BGNBD",
    "TIME_UNITS",
    "CLVFitError",
    "CLVResult",
    "CustomerValue",
    "GammaGamma",
    "IndependenceWarning",
    "ModifiedBGNBD",
    "PAliveCheck",
    "ParetoNBD",
    "RunRateEstimate",
    "SummaryDataError",
    "customer_lifetime_value",
    "customer_value",
    "estimate_customer_value",
    "fit_clv",
    "holdout_by_frequency",
    "holdout_errors",
    "load_model",
    "p_alive_separation",
    "predict_customers",
    "run_rate_value",
    "save_model",
    "summary_from_transactions",
    "totals_by_segment",
    "tracking_curve",
    "write_clv",
]
