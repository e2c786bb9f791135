"""Customer lifetime value: buy-till-you-die models fitted by maximum likelihood.

Modules: :mod:`~analysis.clv.summary` (x, t_x, T, m per customer), :mod:`~analysis.clv.bgnbd`,
:mod:`~analysis.clv.mbgnbd`, :mod:`~analysis.clv.pareto_nbd`, :mod:`~analysis.clv.gamma_gamma`
(models), :mod:`~analysis.clv.value` (P(alive), expected purchases and spend, CLV),
:mod:`~analysis.clv.validation` (holdout checks), :mod:`~analysis.clv.persist` (JSON),
:mod:`~analysis.clv.pipeline` (functions for the CLI and notebooks, with fallbacks),
:mod:`~analysis.clv.run_rate` (the run-rate estimate used when no model can be estimated),
:mod:`~analysis.clv.selection` (the holdout split and the penalizer chosen by its error) and
:mod:`~analysis.clv.simulate` (simulated customers). Plots live in :mod:`analysis.report.plots.clv`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analysis.clv._base import CLVFitError, SummaryDataError
    from analysis.clv.bgnbd import BGNBD
    from analysis.clv.distinct import DistinctSummary
    from analysis.clv.gamma_gamma import GammaGamma, IndependenceWarning
    from analysis.clv.mbgnbd import ModifiedBGNBD
    from analysis.clv.pareto_nbd import ParetoNBD
    from analysis.clv.persist import load_model, save_model
    from analysis.clv.pipeline import (
        CLVResult,
        CustomerValue,
        customer_value,
        estimate_customer_value,
        fit_clv,
        write_clv,
    )
    from analysis.clv.run_rate import RunRateEstimate, run_rate_value
    from analysis.clv.selection import PenalizerChoice, holdout_window, select_penalizer
    from analysis.clv.summary import TIME_UNITS, summary_from_transactions
    from analysis.clv.validation import holdout_by_frequency, holdout_errors, tracking_curve
    from analysis.clv.value import (
        PAliveCheck,
        customer_lifetime_value,
        p_alive_separation,
        predict_customers,
        totals_by_segment,
    )

#: Where each public name lives: the package imports a module (and SciPy with the models) only when one of
#: its names is used, so ``analysis.clv.summary`` (the engines, ``rfmkit summary``) does not load every model.
_SOURCES = {
    "CLVFitError": "_base",
    "SummaryDataError": "_base",
    "BGNBD": "bgnbd",
    "DistinctSummary": "distinct",
    "GammaGamma": "gamma_gamma",
    "IndependenceWarning": "gamma_gamma",
    "ModifiedBGNBD": "mbgnbd",
    "ParetoNBD": "pareto_nbd",
    "load_model": "persist",
    "save_model": "persist",
    "CLVResult": "pipeline",
    "CustomerValue": "pipeline",
    "customer_value": "pipeline",
    "estimate_customer_value": "pipeline",
    "fit_clv": "pipeline",
    "write_clv": "pipeline",
    "RunRateEstimate": "run_rate",
    "PenalizerChoice": "selection",
    "holdout_window": "selection",
    "select_penalizer": "selection",
    "run_rate_value": "run_rate",
    "TIME_UNITS": "summary",
    "summary_from_transactions": "summary",
    "holdout_by_frequency": "validation",
    "holdout_errors": "validation",
    "tracking_curve": "validation",
    "PAliveCheck": "value",
    "customer_lifetime_value": "value",
    "p_alive_separation": "value",
    "predict_customers": "value",
    "totals_by_segment": "value",
}


def __getattr__(name: str) -> Any:
    if name in _SOURCES:
        value = getattr(importlib.import_module(f"{__name__}.{_SOURCES[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "BGNBD",
    "TIME_UNITS",
    "CLVFitError",
    "CLVResult",
    "CustomerValue",
    "DistinctSummary",
    "GammaGamma",
    "IndependenceWarning",
    "ModifiedBGNBD",
    "PAliveCheck",
    "ParetoNBD",
    "PenalizerChoice",
    "RunRateEstimate",
    "SummaryDataError",
    "customer_lifetime_value",
    "customer_value",
    "estimate_customer_value",
    "fit_clv",
    "holdout_by_frequency",
    "holdout_errors",
    "holdout_window",
    "load_model",
    "p_alive_separation",
    "predict_customers",
    "run_rate_value",
    "save_model",
    "select_penalizer",
    "summary_from_transactions",
    "totals_by_segment",
    "tracking_curve",
    "write_clv",
]
