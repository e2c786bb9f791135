"""Shared machinery of the maximum-likelihood CLV estimators.

Every model follows the scikit-learn estimator contract: ``__init__`` only stores its keyword
arguments, ``fit(summary)`` returns ``self`` and learned state ends in ``_``. Fitting

1. validates the summary (raising :class:`SummaryDataError` for data that cannot identify the
   model),
2. collapses it to the unique rows of the model's columns with their counts as weights (on integer
   codes, see :mod:`analysis.clv._compress`), so a million customers cost what their distinct
   histories cost, and reduces those rows once to the sufficient statistics the model's
   likelihood needs (``_reduce``: e.g. sums by distinct T, by distinct x, by distinct (t_x, T)
   pair), so that one evaluation of the log-likelihood and its analytic gradient
   (``_loglik_grad``) costs a few passes over the repeat customers' distinct rows,
3. minimises the mean negative log-likelihood per customer plus the penalty
   ``penalizer * sum(log(theta_i / c_i) ** 2)`` over ``log(theta)`` with L-BFGS-B from several
   starting points, then polishes the best optimum with Newton steps; above
   :data:`SAMPLE_ABOVE_ROWS` distinct rows the starting points are explored on a weighted sample of
   the rows (an unbiased estimate of the log-likelihood) and only the best optimum is continued on
   all rows, by Newton steps with the sample's Hessian (L-BFGS-B if they do not converge), so the
   answer is the full data's optimum (``convergence_["explored_on_sample"]`` says which path ran),
4. checks convergence: the optimiser's own status, the gradient at the optimum, no direction of
   negative curvature where the Newton steps stopped (a ridge running out to the edge of the
   possible values is reported as unidentified) and a positive definite observed information
   matrix; a fit that fails any check raises :class:`CLVFitError` (a
   :class:`~analysis.errors.ModelError`) and is never returned,
5. computes the observed information matrix (numerical Hessian of the total penalised negative
   log-likelihood in the natural parameter space) whose inverse gives the standard errors and
   95 % Wald intervals.

The penalty does not depend on the currency or the time unit. Shape parameters (r, a, b, s, p, q)
have no unit; each scale parameter is measured against a scale taken from the data, in the same
unit: the centres ``c_i`` are 1 for shapes (2 for Gamma-Gamma's q) and, for the scale parameters,
alpha = total customer age / total repeat purchases (so r / alpha is the observed repeat rate),
beta = the mean customer age T, and Gamma-Gamma's v = the mean spend per repeat purchase (so
p v / (q - 1) is the observed mean). Rescaling spend by 1000 or measuring time in days instead of
weeks rescales the fitted scale parameters by the same factor and leaves every prediction (in
currency, or per calendar period) unchanged, at any ``penalizer``. ``penalizer = 0`` is plain
maximum likelihood.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, TypeVar

import numpy as np
import pandas as pd
from scipy import optimize
from threadpoolctl import threadpool_limits

from analysis import text
from analysis.clv._compress import Grouped, group_rows
from analysis.clv.distinct import DistinctSummary
from analysis.clv.summary import TIME_UNITS
from analysis.errors import InputError, ModelError, NotFittedError

#: standardised log-parameters log(theta_i / c_i) are kept within [-_LOG_BOUND, _LOG_BOUND] (a factor
#: of about 9 million either side of the centre); an optimum on that box is reported as unidentified
#: instead of being returned.
_LOG_BOUND = 16.0
_Z95 = 1.959963984540054


class CLVFitError(ModelError):
    """A CLV model cannot be estimated from the data, in words a manager understands.

    Attributes
    ----------
    code : str
        Why, as a short key: ``no_repeat_customers``, ``too_few_customers``,
        ``too_few_repeat_customers``, ``unidentified``, ``not_converged``, ``infinite_mean_spend``,
        ``not_finite`` or ``invalid_summary``.
    values : dict
        The figures the message quotes: ``model`` (e.g. ``"bgnbd"``), ``concepts`` (keys of
        ``clv_fit.concept`` in the text catalog), ``n_repeat``, ``n_customers``, ``penalizer_advice``
        (whether a penalizer, chosen by the holdout error, would help).
    why : str
        The reason in plain English words, without the model name, advice or technical detail.
    advice : str
        What would help, in English ("" when nothing the user can set would).

    :meth:`describe` gives the same in any language of :mod:`analysis.text`.
    """

    def __init__(
        self, message: str, code: str = "invalid_summary", *, why: str = "", advice: str = "", **values: Any
    ) -> None:
        super().__init__(message)
        self.code = code
        self.why = why or _without_label(message)
        self.advice = advice
        self.values = values

    def why_text(self, language: str) -> str:
        """The reason in ``language`` (catalog ``clv_fit.why.<code>``)."""
        return fit_why(self.code, language, **self.values)

    def advice_text(self, language: str) -> str:
        """The advice in ``language``, "" when there is none."""
        return text.t("clv_fit.advice_penalizer", language) if self.values.get("penalizer_advice") else ""

    def describe(self, language: str) -> str:
        """ "<model>: <why>" in ``language``, without advice or technical detail."""
        model = self.values.get("model")
        why = self.why_text(language)
        if not model:
            return why
        return text.t("clv_fit.model_why", language, model=text.t(f"clv_fit.model.{model}", language), why=why)


def _count(value: Any) -> str:
    return "?" if value is None else f"{float(value):g}"


def fit_why(code: str, language: str, **values: Any) -> str:
    """Why a CLV model could not be estimated, in ``language`` (catalog ``clv_fit.why.<code>``)."""
    concepts = values.get("concepts") or ["all"]
    sep = text.t("clv_fit.concept_separator", language)
    concept = sep.join(text.t(f"clv_fit.concept.{c}", language) for c in concepts)
    key = f"clv_fit.why.{code}" if text.has(f"clv_fit.why.{code}", language) else "clv_fit.why.invalid_summary"
    return text.t(
        key,
        language,
        concept=concept,
        n_repeat=_count(values.get("n_repeat")),
        n_customers=_count(values.get("n_customers")),
    )


def _without_label(message: str) -> str:
    """``message`` without a leading model label such as ``"BG/NBD: "``."""
    head, sep, rest = message.partition(": ")
    return rest if sep and head in {"BG/NBD", "MBG/NBD", "Pareto/NBD", "Gamma-Gamma"} else message


class SummaryDataError(CLVFitError, InputError):
    """The summary handed to a model is invalid or cannot identify it (both a ModelError and an
    InputError, so callers catching either see it)."""


#: codes of failures that no other purchase model can avoid (they are properties of the data)
DATA_FAILURES = frozenset({"no_repeat_customers", "too_few_customers", "invalid_summary"})

#: below this many repeat customers an unidentified fit is blamed on their number
FEW_REPEAT_CUSTOMERS = 20

#: above this many distinct rows the starting points are explored on a weighted sample of about
#: SAMPLE_ROWS rows, and only the best optimum is continued on all rows (see BaseFitter._optimise)
SAMPLE_ABOVE_ROWS = 40_000
SAMPLE_ROWS = 10_000

#: largest |gradient| of the mean penalised negative log-likelihood (per log-parameter) at an optimum
GRADIENT_TOLERANCE = 1e-4


def check_is_fitted(model: BaseFitter) -> None:
    """Raise :class:`~analysis.errors.NotFittedError` unless ``model`` has been fitted."""
    if not hasattr(model, "params_"):
        raise NotFittedError(
            f"this {type(model).__name__} is not fitted yet: call fit(summary) or load saved parameters"
        )


def numerical_hessian(fun: Any, x: np.ndarray, grad: Any | None = None, rel_step: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of ``fun`` at ``x`` (of ``grad`` when given), symmetrised."""
    x = np.asarray(x, dtype=float)
    k = x.size
    h = rel_step * np.maximum(np.abs(x), 1e-3)
    hess = np.empty((k, k))
    if grad is not None:
        for i in range(k):
            e = np.zeros(k)
            e[i] = h[i]
            hess[i] = (grad(x + e) - grad(x - e)) / (2 * h[i])
        return 0.5 * (hess + hess.T)
    f0 = fun(x)
    for i in range(k):
        ei = np.zeros(k)
        ei[i] = h[i]
        hess[i, i] = (fun(x + ei) - 2 * f0 + fun(x - ei)) / h[i] ** 2
        for j in range(i):
            ej = np.zeros(k)
            ej[j] = h[j]
            val = (fun(x + ei + ej) - fun(x + ei - ej) - fun(x - ei + ej) + fun(x - ei - ej)) / (4 * h[i] * h[j])
            hess[i, j] = hess[j, i] = val
    return hess


_F = TypeVar("_F", bound=Callable[..., Any])


def one_blas_thread(fit: _F) -> _F:
    """Run ``fit`` with one BLAS thread (threadpoolctl; the setting is restored afterwards).

    The likelihoods are vectorised numpy over at most a few hundred thousand distinct rows and the optimiser works
    on three or four parameters: BLAS threads have nothing to share, and OpenBLAS's idle threads spinning between the
    optimiser's small calls cost more CPU than the fit (``rfmkit clv`` on CDNOW: 2.9 → 1.4 CPU s). One thread also
    gives the same floating-point sums on a laptop, a server and a Spark executor, whatever their cores.
    """

    @functools.wraps(fit)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with threadpool_limits(limits=1, user_api="blas"):
            return fit(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


class BaseFitter:
    """Maximum-likelihood estimator base; subclasses define the likelihood.

    Parameters
    ----------
    penalizer : float, default=0.0
        Weight of the scale-free penalty ``penalizer * sum(log(theta_i / c_i) ** 2)`` added to the
        mean negative log-likelihood per customer (see the module docstring for the centres
        ``c_i``); 0 = plain maximum likelihood. A value means the same in any currency or time
        unit. Choose it by the error on held-out purchases
        (:func:`analysis.clv.pipeline.select_penalizer`), not by a fixed rule.
    n_starts : int, default=3
        Number of starting points (a model-specific guess, all-ones, then random draws).
    seed : int, default=0
        Seed of the random starting points.
    """

    #: parameter names, in order
    param_names: ClassVar[tuple[str, ...]] = ()
    #: summary columns the likelihood uses
    data_columns: ClassVar[tuple[str, ...]] = ()
    #: short name used in JSON files
    model_name: ClassVar[str] = ""
    #: name shown to readers
    display_name: ClassVar[str] = ""
    #: what each parameter describes: a key of ``clv_fit.concept`` in the text catalog
    param_concept: ClassVar[dict[str, str]] = {}
    #: whether a fit on a DistinctSummary keeps its validated rows and statistics there for the next fit of the same
    #: model (worth it for the purchase models, refitted once per penalizer of a grid; Gamma-Gamma's rows are every
    #: repeat customer, memory the predictions that follow would rather reuse)
    _keep_fit_inputs: ClassVar[bool] = True

    def __init__(self, penalizer: float = 0.0, n_starts: int = 3, seed: int = 0) -> None:
        self.penalizer = penalizer
        self.n_starts = n_starts
        self.seed = seed

    # ------------------------------------------------------------------ subclass hooks
    def _validate(self, summary: pd.DataFrame) -> pd.DataFrame:  # pragma: no cover - abstract
        raise NotImplementedError

    def _prepare(self, uniques: pd.DataFrame) -> dict[str, np.ndarray]:
        """Arrays of the unique rows plus, per column, its distinct values (``<col>_u``) and the
        index of each row's value (``<col>_i``): functions of one column are evaluated once per
        distinct value and gathered."""
        data: dict[str, np.ndarray] = {}
        for c in self.data_columns:
            values = uniques[c].to_numpy(dtype=float)
            data[c] = values
            data[f"{c}_u"], data[f"{c}_i"] = np.unique(values, return_inverse=True)
        return self._extend(data)

    def _prepare_grouped(self, grouped: Grouped) -> dict[str, np.ndarray]:
        """:meth:`_prepare` from the output of :func:`~analysis.clv._compress.group_rows` (which
        already holds every column's distinct values and codes)."""
        data: dict[str, np.ndarray] = {}
        for c in self.data_columns:
            data[c] = grouped.values[c]
            data[f"{c}_u"], data[f"{c}_i"] = grouped.levels[c], grouped.codes[c]
        return self._extend(data)

    def _extend(self, data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Model-specific arrays added to the prepared data (default none)."""
        return data

    def _sample_rows(self, data: dict[str, np.ndarray], w: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """A weighted sample of about :data:`SAMPLE_ROWS` distinct rows whose weighted log-likelihood
        estimates the full one without bias (Poisson sampling with inclusion probability
        ``min(1, c w_i)``, weights ``w_i / pi_i``; rows standing for many customers are always kept),
        seeded by ``seed``."""
        c = SAMPLE_ROWS / w.sum()
        for _ in range(50):  # solve sum(min(1, c w)) = SAMPLE_ROWS
            pi = np.minimum(1.0, c * w)
            total = pi.sum()
            if abs(total - SAMPLE_ROWS) < 1.0:
                break
            c *= SAMPLE_ROWS / total
        pi = np.minimum(1.0, c * w)
        rng = np.random.default_rng([int(self.seed), 7])
        keep = rng.random(len(w)) < pi
        rows = pd.DataFrame({col: data[col][keep] for col in self.data_columns})
        return self._prepare(rows), w[keep] / pi[keep]

    def _fitted_rows(self, data: dict[str, np.ndarray], weights: np.ndarray) -> None:
        """Hook called with the weighted distinct rows before the optimisation (default nothing)."""
        return None

    def _lattice_steps(self, time_unit: str) -> dict[str, float | None]:
        """Per data column, the step of its exact integer coding (see :mod:`analysis.clv._compress`):
        1 for whole numbers, the unit's length in days for times built from day counts, None for
        other columns."""
        return {c: 1.0 if c == "frequency" else None for c in self.data_columns}

    def _group(self, columns: dict[str, np.ndarray], steps: dict[str, float | None], weights: np.ndarray) -> Grouped:
        """The rows the likelihood is evaluated on: the distinct rows of the validated ``columns`` with their summed
        ``weights`` (a :class:`~analysis.clv.distinct.DistinctSummary` hands over the same rows already grouped)."""
        return group_rows(columns, steps, weights, with_inverse=False)

    def _reduce(self, data: dict[str, np.ndarray], weights: np.ndarray) -> dict[str, Any]:
        """Sufficient statistics of the weighted distinct rows for :meth:`_loglik_grad` (computed
        once per fit). The default keeps the rows and their weights."""
        return {"data": data, "w": weights}

    def _loglik_grad(
        self, theta: np.ndarray, reduced: dict[str, Any], grad: bool = True
    ) -> tuple[float, np.ndarray | None]:
        """Total weighted log-likelihood at ``theta`` (natural space) and, when ``grad``, its gradient
        (None when the model has no analytic gradient). The default sums :meth:`_loglik_rows` and
        :meth:`_grad_rows` over the rows kept by the default :meth:`_reduce`."""
        data, w = reduced["data"], reduced["w"]
        ll = float(np.dot(w, self._loglik_rows(theta, data)))
        if not grad:
            return ll, None
        g = self._grad_rows(theta, data)
        return ll, None if g is None else w @ g

    def _loglik_cached(
        self, theta: np.ndarray, reduced: dict[str, Any], grad: bool = True
    ) -> tuple[float, np.ndarray | None]:
        """:meth:`_loglik_grad`, remembering the last evaluation with its gradient: the optimiser's last point is
        asked for again by the polish, the convergence check and the information matrix (one evaluation, not
        three)."""
        key = np.asarray(theta, dtype=float).tobytes()
        last = reduced.get("_last")
        if last is not None and last[0] == key and (last[2] is not None or not grad):
            return last[1], last[2]
        ll, g = self._loglik_grad(theta, reduced, grad=grad)
        if grad:
            reduced["_last"] = (key, ll, g)
        return ll, g

    def _loglik_hess(self, theta: np.ndarray, reduced: dict[str, Any]) -> tuple[float, np.ndarray, np.ndarray] | None:
        """Total weighted log-likelihood, gradient and Hessian at ``theta`` (natural space), or None when the model
        has no analytic Hessian (the default: central differences of the gradient are used instead)."""
        return None

    def _hess_cached(self, theta: np.ndarray, reduced: dict[str, Any]) -> np.ndarray | None:
        """:meth:`_loglik_hess`'s Hessian, its value and gradient remembered as :meth:`_loglik_cached`'s last
        evaluation (None without an analytic Hessian)."""
        key = np.asarray(theta, dtype=float).tobytes()
        last = reduced.get("_last_hess")
        if last is not None and last[0] == key:
            return last[1]
        out = self._loglik_hess(np.asarray(theta, dtype=float), reduced)
        if out is None:
            return None
        ll, g, h = out
        reduced["_last"] = (key, ll, g)
        reduced["_last_hess"] = (key, h)
        return h

    def _log_space_hessian(
        self, u: np.ndarray, reduced: dict[str, Any], n: float, penalizer: float
    ) -> np.ndarray | None:
        """Analytic Hessian of the mean penalised negative log-likelihood in log space at ``u = log(theta)``
        (``-(H theta theta' + diag(g theta)) / n + 2 penalizer I``), or None without an analytic Hessian."""
        theta = np.exp(u)
        h = self._hess_cached(theta, reduced)
        if h is None:
            return None
        g = self._loglik_cached(theta, reduced, grad=True)[1]
        out = -(h * np.outer(theta, theta) + np.diag(g * theta)) / n + 2.0 * penalizer * np.eye(len(u))
        return out if np.all(np.isfinite(out)) else None

    def _loglik_rows(self, theta: np.ndarray, data: dict[str, np.ndarray]) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover - abstract

    def _grad_rows(self, theta: np.ndarray, data: dict[str, np.ndarray]) -> np.ndarray | None:
        """Per-row gradient of the log-likelihood in the natural space, shape (rows, k), or None."""
        return None

    def _initial_guess(self, data: dict[str, np.ndarray], weights: np.ndarray) -> np.ndarray:
        return np.ones(len(self.param_names))

    def _penalty_centre(self, data: dict[str, np.ndarray], weights: np.ndarray) -> np.ndarray:
        """Centres ``c_i`` of the penalty, in the natural space and the data's units (default 1)."""
        return np.ones(len(self.param_names))

    def _n_repeat(self, data: dict[str, np.ndarray], weights: np.ndarray) -> float:
        """Number of customers with a repeat purchase among the fitted rows."""
        return float(weights[data["frequency"] > 0].sum())

    # ------------------------------------------------------------------ fitting
    @one_blas_thread
    def fit(
        self,
        summary: pd.DataFrame,
        weights: Sequence[float] | np.ndarray | pd.Series | None = None,
        time_unit: str | None = None,
    ) -> BaseFitter:
        """Fit the model by (penalised) maximum likelihood.

        Parameters
        ----------
        summary : DataFrame or DistinctSummary
            Per-customer summary (see :func:`analysis.clv.summary.summary_from_transactions`), or the same
            grouped once (:class:`analysis.clv.distinct.DistinctSummary`, shared with the other fits and the
            predictions).
        weights : array-like, optional
            Number of customers each row stands for (default 1 per row; a DistinctSummary carries its own).
        time_unit : {'D', 'W', 'M'}, optional
            Unit of the summary's times; defaults to ``summary.attrs['time_unit']``.

        Returns
        -------
        self

        Raises
        ------
        CLVFitError
            The data cannot identify the model, or the optimiser did not converge; ``code`` says which.
        """
        unit = time_unit if time_unit is not None else summary.attrs.get("time_unit")
        if unit not in TIME_UNITS:
            raise InputError(
                f"time unit of the summary is {unit!r}: pass time_unit='D', 'W' or 'M' to fit() "
                "or build the summary with summary_from_transactions"
            )
        penalizer = float(self.penalizer)
        if not (penalizer >= 0 and math.isfinite(penalizer)):
            raise InputError(f"penalizer must be a finite number >= 0, got {self.penalizer!r}")
        if isinstance(summary, DistinctSummary) and weights is not None:
            raise InputError("a DistinctSummary carries its weights: give them to DistinctSummary.from_summary")
        # a DistinctSummary keeps what a fit derives from it before optimising (the validated rows, their sufficient
        # statistics and the exploration sample), so repeated fits of one model on it (e.g. one per penalizer of a
        # grid) validate and reduce the rows once
        key = (type(self), max(int(self.n_starts), 1) > 1, self.seed, unit)
        keep = isinstance(summary, DistinctSummary) and self._keep_fit_inputs
        cached = summary.fit_inputs.get(key) if keep else None
        if cached is None:
            cached = self._fit_inputs(summary, weights, unit)
            if keep:
                summary.fit_inputs[key] = cached
        data, w, n, n_repeat, reduced, explore = cached
        self._fitted_rows(data, w)
        log_centre = np.log(self._penalty_centre(data, w))
        self._facts = {"n_customers": n, "n_repeat": n_repeat, "penalizer": penalizer}
        self._stopped_at = None
        try:
            theta, convergence = self._optimise(
                reduced, n, penalizer, log_centre, self._initial_guess(data, w), explore=explore
            )
            self._finish(theta, reduced, n, penalizer, unit, log_centre, n_unique=len(w))
            self.boundary_ = None
        except CLVFitError as err:
            # the likelihood may be highest on the edge of the parameter space (BG/NBD's a -> 0: no detectable
            # drop-out); a model that knows its limit there returns that answer instead of failing
            limit = None
            if penalizer == 0 and err.code == "unidentified" and self._stopped_at is not None:
                limit = self._boundary_limit(reduced, n, self._stopped_at)
            if limit is None:
                raise
            convergence = self._finish_boundary(limit, n, penalizer, unit, n_unique=len(w))
        self.penalty_centre_ = pd.Series(np.exp(log_centre), index=list(self.param_names), name="penalty_centre")
        self.convergence_ = convergence
        return self

    def _fit_inputs(
        self, summary: pd.DataFrame | DistinctSummary, weights: Any, unit: str
    ) -> tuple[dict[str, np.ndarray], np.ndarray, float, float, dict[str, Any], dict[str, Any] | None]:
        """What :meth:`fit` optimises on, independent of the penalizer: the validated weighted rows (``data``,
        ``w``), the customers ``n`` and repeat customers they stand for, their sufficient statistics and, above
        :data:`SAMPLE_ABOVE_ROWS`, those of the exploration sample (None below)."""
        if isinstance(summary, DistinctSummary):
            frame = summary.rows(self.data_columns)  # the distinct rows, grouped once, with their weights
            try:
                frame = self._validate(frame)
            except SummaryDataError:
                self._validate(summary.rows(self.data_columns, named=True))  # the same error, naming customers
                raise
        else:
            frame = summary.loc[:, list(self.data_columns)].copy()
            if weights is None:
                frame["_w"] = 1.0
            else:
                w = np.asarray(weights, dtype=float)
                if w.shape != (len(frame),) or not np.all(np.isfinite(w)) or np.any(w < 0):
                    raise SummaryDataError("weights must be one finite non-negative number per summary row")
                frame["_w"] = w
            frame = self._validate(frame)
        done = summary.grouped(self.data_columns) if isinstance(summary, DistinctSummary) else None
        if done is not None and done.n_unique == len(frame):
            grouped = done  # the validated rows are the grouping's rows: no second grouping
        else:
            grouped = self._group(
                {c: frame[c].to_numpy(dtype=float) for c in self.data_columns},
                self._lattice_steps(unit),
                frame["_w"].to_numpy(dtype=float),
            )
        data = self._prepare_grouped(grouped)
        w = grouped.weights
        if np.any(w <= 0):
            live = w > 0
            data = self._prepare(pd.DataFrame({c: data[c][live] for c in self.data_columns}))
            w = w[live]
        n = float(w.sum())
        reduced = self._reduce(data, w)
        explore = None
        if len(w) > SAMPLE_ABOVE_ROWS and max(int(self.n_starts), 1) > 1:
            sample_data, sample_w = self._sample_rows(data, w)
            explore = self._reduce(sample_data, sample_w)
        return data, w, n, self._n_repeat(data, w), reduced, explore

    def _boundary_limit(self, reduced: dict[str, Any], n: float, stopped_at: np.ndarray) -> dict[str, Any] | None:
        """The maximum-likelihood answer on the edge of the parameter space that an unpenalised fit ran towards
        (stopped at ``stopped_at``), or None when the model has none there (the default). A model that has one
        returns ``{"params": …, "standard_errors": …, "covariance": …, "log_likelihood": …, "boundary": name,
        "max_abs_gradient": …}`` in its own parameters (NaN for a parameter the limit leaves undefined)."""
        return None

    def _finish_boundary(
        self, limit: dict[str, Any], n: float, penalizer: float, unit: str, n_unique: int
    ) -> dict[str, Any]:
        """Set the fitted state from :meth:`_boundary_limit`'s answer; returns the convergence record."""
        names = list(self.param_names)
        self.params_ = pd.Series(limit["params"], index=names, name="estimate", dtype=float)
        self.standard_errors_ = pd.Series(limit["standard_errors"], index=names, name="standard_error")
        self.covariance_ = pd.DataFrame(limit["covariance"], index=names, columns=names)
        self.log_likelihood_ = float(limit["log_likelihood"])
        self.n_customers_ = n
        self.n_unique_ = n_unique
        self.time_unit_ = unit
        self.penalizer_ = penalizer
        self.boundary_ = limit["boundary"]
        self._set_confidence_intervals()
        return {
            "success": True,
            "status": 0,
            "message": f"maximum likelihood on the boundary ({limit['boundary']})",
            "iterations": int(limit.get("iterations", 0)),
            "max_abs_gradient": float(limit["max_abs_gradient"]),
            "explored_on_sample": False,
            "boundary": limit["boundary"],
        }

    def _objective(
        self, reduced: dict[str, Any], n: float, penalizer: float, log_centre: np.ndarray
    ) -> tuple[Callable[[np.ndarray], float], Callable[[np.ndarray], tuple[float, np.ndarray]]]:
        """Mean penalised negative log-likelihood per customer, and the same with its gradient, in log
        space."""

        def nll_mean(u: np.ndarray) -> float:
            ll, _ = self._loglik_cached(np.exp(u), reduced, grad=False)
            val = -ll / n + penalizer * float(np.sum((u - log_centre) ** 2))
            return val if math.isfinite(val) else 1e300

        def nll_and_grad(u: np.ndarray) -> tuple[float, np.ndarray]:
            theta = np.exp(u)
            ll, g = self._loglik_cached(theta, reduced, grad=True)
            val = -ll / n + penalizer * float(np.sum((u - log_centre) ** 2))
            val = val if math.isfinite(val) else 1e300
            if g is None:
                return val, _central_grad(nll_mean, u)
            out = -g / n * theta + 2 * penalizer * (u - log_centre)
            return val, np.where(np.isfinite(out), out, 0.0)

        return nll_mean, nll_and_grad

    def _fail(
        self, code: str, what: str, *, names: Sequence[str] = (), helps: bool = True, **values: Any
    ) -> CLVFitError:
        """A :class:`CLVFitError` in plain words (text catalog, English for the message): what cannot be
        estimated, why, and advice only when it helps (a penalizer only when none was used and the failure
        is one a penalty cures); ``what`` is the technical detail, shown last in brackets."""
        facts = {**getattr(self, "_facts", {}), **values}
        concepts = list(dict.fromkeys(self.param_concept.get(p, "all") for p in names)) or ["all"]
        n_repeat = facts.get("n_repeat")
        if code == "unidentified" and n_repeat is not None and n_repeat < FEW_REPEAT_CUSTOMERS:
            code = "too_few_repeat_customers"
        penalty_helps = code in ("too_few_repeat_customers", "unidentified")
        advice = bool(helps and penalty_helps and facts.get("penalizer", 0.0) == 0.0)
        err = CLVFitError("", code, model=self.model_name, concepts=concepts, penalizer_advice=advice, **facts)
        err.why, err.advice = err.why_text("en"), err.advice_text("en")
        message = f"{self.display_name}: {err.why}" + (f"; {err.advice}" if err.advice else "")
        if what:
            message += f" [detail: {what}]"
        err.args = (message,)
        err.values["detail"] = what
        return err

    def _optimise(
        self,
        reduced: dict[str, Any],
        n: float,
        penalizer: float,
        log_centre: np.ndarray,
        start: np.ndarray,
        explore: dict[str, Any] | None = None,
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Minimise from every starting point and polish the best optimum. With ``explore`` (the
        reduced statistics of a row sample, see :meth:`_sample_rows`) the starting points are run on
        the sample and only the best of them is continued on all rows."""
        nll_u, fg_u = self._objective(reduced, n, penalizer, log_centre)

        def nll(z: np.ndarray) -> float:
            return nll_u(z + log_centre)

        def fg(z: np.ndarray) -> tuple[float, np.ndarray]:
            return fg_u(z + log_centre)

        def grad(z: np.ndarray) -> np.ndarray:
            return fg_u(z + log_centre)[1]

        k = len(self.param_names)
        rng = np.random.default_rng(self.seed)
        guess = np.log(np.clip(start / np.exp(log_centre), 1e-4, 1e4))
        starts = [guess, np.zeros(k)]
        while len(starts) < max(int(self.n_starts), 1):
            starts.append(rng.normal(0.0, 1.0, size=k))
        bounds = [(-_LOG_BOUND, _LOG_BOUND)] * k
        options = {"maxiter": 1000, "ftol": 1e-11, "gtol": 1e-7}
        explore_fg = fg
        if explore is not None:
            _, sample_fg = self._objective(explore, n, penalizer, log_centre)

            def explore_fg(z: np.ndarray) -> tuple[float, np.ndarray]:
                return sample_fg(z + log_centre)

            def explore_grad(z: np.ndarray) -> np.ndarray:
                return sample_fg(z + log_centre)[1]

        # with an analytic Hessian the starting points only need to find the basin (L-BFGS-B to a looser
        # tolerance): exact Newton steps on all rows then finish from the best of them in two or three steps
        exact = type(self)._loglik_hess is not BaseFitter._loglik_hess
        start_options = {"maxiter": 1000, "ftol": 1e-9, "gtol": 1e-5} if exact else options
        best = None
        with np.errstate(all="ignore"):
            for u0 in starts[: max(int(self.n_starts), 1)]:
                res = optimize.minimize(
                    explore_fg, u0, jac=True, method="L-BFGS-B", bounds=bounds, options=start_options
                )
                if np.all(np.isfinite(res.x)) and (best is None or res.fun < best.fun):
                    best = res
            if (explore is not None or exact) and best is not None:
                # Newton steps on all rows from the best optimum, with the Hessian of all rows at each step when the
                # model has it analytically (one evaluation each), else the sample's by central differences
                where = "the sample's optimum" if explore is not None else "the best starting point's optimum"
                hess0 = self._log_space_hessian(best.x + log_centre, reduced, n, penalizer) if exact else None
                if hess0 is not None:
                    refined = _newton_refine(
                        fg,
                        best.x,
                        hess0,
                        lambda z: self._log_space_hessian(z + log_centre, reduced, n, penalizer),
                        where=where,
                    )
                elif explore is not None:
                    sample_hess = numerical_hessian(None, best.x, grad=explore_grad, rel_step=1e-5)
                    refined = _newton_refine(fg, best.x, sample_hess, where=where)
                else:
                    refined = None
                if refined is None:
                    best = optimize.minimize(fg, best.x, jac=True, method="L-BFGS-B", bounds=bounds, options=options)
                else:
                    best = refined
            if best is None or not math.isfinite(best.fun) or best.fun >= 1e299:
                raise self._fail(
                    "not_finite",
                    "the likelihood cannot be computed for this data (check that frequency, t_x and T are in the "
                    "same time unit)",
                    helps=False,
                )
            u, hess_log = self._polish(best.x, nll, grad)
            g_max = float(np.max(np.abs(grad(u))))
        convergence = {
            "success": bool(best.success),
            "status": int(best.status),
            "message": str(best.message),
            "iterations": int(best.nit),
            "max_abs_gradient": g_max,
            "explored_on_sample": explore is not None,
        }
        self._stopped_at = np.exp(u + log_centre)
        at_bound = np.abs(u) > _LOG_BOUND - 0.5
        if np.any(at_bound):
            names = [p for p, b in zip(self.param_names, at_bound, strict=True) if b]
            theta = np.exp(u + log_centre)
            shown = ", ".join(f"{p}={v:.3g}" for p, v in zip(self.param_names, theta, strict=True) if p in names)
            raise self._fail("unidentified", f"{shown} ran to the edge of the possible values", names=names)
        if not (g_max <= GRADIENT_TOLERANCE):
            raise self._fail(
                "not_converged",
                f"the estimation did not settle on an answer (the optimiser stopped with {best.message!r} and the "
                f"slope at its last point is {g_max:.2g}, not 0), so its figures would not be reliable",
                helps=False,
                optimizer_message=str(best.message),
                optimizer_status=int(best.status),
            )
        if hess_log is not None and np.all(np.isfinite(hess_log)) and np.linalg.eigvalsh(hess_log)[0] < 0:
            # not a minimum: the fit still improves along a direction of negative curvature, a ridge
            # running out towards the edge of the possible values
            theta = np.exp(u + log_centre)
            names = _flat_directions(hess_log / np.outer(theta, theta), self.param_names)  # in natural units
            raise self._fail(
                "unidentified",
                "the estimation stopped on a ridge where the fit still improves in some direction, at "
                f"{dict(zip(self.param_names, np.round(theta, 4).tolist(), strict=True))}",
                names=names,
            )
        return np.exp(u + log_centre), convergence

    def _polish(self, u: np.ndarray, nll: Any, grad: Any) -> tuple[np.ndarray, np.ndarray | None]:
        """A few damped Newton steps in log space from the L-BFGS-B optimum. Returns the point and the
        log-space Hessian at that point when the steps stopped short of a zero gradient (None when the
        gradient is zero to 1e-10 or no Hessian was computed there)."""
        f = nll(u)
        hess_here = None
        for _ in range(8):
            g = grad(u)
            if np.max(np.abs(g)) < 1e-10:
                return u, None
            try:
                hess = numerical_hessian(nll, u, grad=grad, rel_step=1e-5)
                hess_here = hess
                step = np.linalg.solve(hess, g)
            except np.linalg.LinAlgError:
                break
            if not np.all(np.isfinite(step)):
                break
            improved = False
            for damp in (1.0, 0.5, 0.25, 0.1):
                cand = np.clip(u - damp * step, -_LOG_BOUND, _LOG_BOUND)
                fc = nll(cand)
                if fc <= f:
                    u, f, improved = cand, fc, True
                    hess_here = None
                    break
            if not improved:
                break
        return u, hess_here

    def _finish(
        self,
        theta: np.ndarray,
        reduced: dict[str, Any],
        n: float,
        penalizer: float,
        unit: str,
        log_centre: np.ndarray,
        n_unique: int,
    ) -> None:
        names = list(self.param_names)

        def total_nll(t: np.ndarray) -> float:
            pen = float(np.sum((np.log(t) - log_centre) ** 2))
            return -self._loglik_grad(t, reduced, grad=False)[0] + n * penalizer * pen

        def total_grad(t: np.ndarray) -> np.ndarray:
            g = self._loglik_grad(t, reduced, grad=True)[1]
            return -g + 2 * n * penalizer * (np.log(t) - log_centre) / t

        self._stopped_at = np.asarray(theta, dtype=float)
        with np.errstate(all="ignore"):
            exact = self._hess_cached(theta, reduced)
            ll, g0 = self._loglik_cached(theta, reduced, grad=True)
            if exact is not None:  # the analytic Hessian of the total penalised negative log-likelihood
                lt = np.log(theta) - log_centre
                hess = -exact + np.diag(2 * n * penalizer * (1.0 - lt) / theta**2)
            else:
                hess = numerical_hessian(total_nll, theta, grad=total_grad if g0 is not None else None)
        if not math.isfinite(ll) or not np.all(np.isfinite(theta)):
            raise self._fail("not_finite", "the fit ended at a likelihood that cannot be computed", helps=False)
        try:
            if not np.all(np.isfinite(hess)):
                raise np.linalg.LinAlgError("non-finite Hessian")
            np.linalg.cholesky(hess)
            cov = np.linalg.inv(hess)
        except np.linalg.LinAlgError:
            flat = _flat_directions(hess, names)
            raise self._fail(
                "unidentified",
                "many different values fit the data equally well: the information matrix at the optimum "
                f"{dict(zip(names, np.round(theta, 4).tolist(), strict=True))} is not positive definite",
                names=flat,
            ) from None
        se = np.sqrt(np.diag(cov))
        if not np.all(np.isfinite(se)):
            raise self._fail("unidentified", "the standard errors are not finite", names=names)
        self.params_ = pd.Series(theta, index=names, name="estimate", dtype=float)
        self.standard_errors_ = pd.Series(se, index=names, name="standard_error")
        self.covariance_ = pd.DataFrame(cov, index=names, columns=names)
        self.log_likelihood_ = ll
        self.n_customers_ = n
        self.n_unique_ = n_unique
        self.time_unit_ = unit
        self.penalizer_ = penalizer
        self._set_confidence_intervals()

    def _set_confidence_intervals(self) -> None:
        self.confidence_intervals_ = pd.DataFrame(
            {
                "lower 95%": self.params_ - _Z95 * self.standard_errors_,
                "upper 95%": self.params_ + _Z95 * self.standard_errors_,
            }
        )

    # ------------------------------------------------------------------ reporting
    def summary(self) -> pd.DataFrame:
        """Parameter table: estimate, standard error and 95 % Wald interval per parameter."""
        check_is_fitted(self)
        out = pd.concat([self.params_, self.standard_errors_, self.confidence_intervals_], axis=1)
        out.index = pd.Index(list(self.params_.index), name="parameter")  # a copy: params_ stays unnamed
        out.attrs.update(log_likelihood=self.log_likelihood_, time_unit=self.time_unit_, n_customers=self.n_customers_)
        return out

    def __repr__(self) -> str:
        if hasattr(self, "params_"):
            p = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
            return f"{type(self).__name__}({p}, time_unit={self.time_unit_!r})"
        return f"{type(self).__name__}(penalizer={self.penalizer!r}, n_starts={self.n_starts!r})"

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        """Fitted state as plain JSON-able data (no pickles)."""
        check_is_fitted(self)
        return {
            "model": self.model_name,
            "time_unit": self.time_unit_,
            "params": {k: float(v) for k, v in self.params_.items()},
            "log_likelihood": self.log_likelihood_,
            "standard_errors": {k: float(v) for k, v in self.standard_errors_.items()},
            "covariance": self.covariance_.to_numpy().tolist(),
            "n_customers": self.n_customers_,
            "penalizer": self.penalizer_,
            **({"boundary": self.boundary_} if getattr(self, "boundary_", None) else {}),
            **self._extra_state(),
        }

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        return None

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON text (files: :func:`analysis.clv.persist.save_model`)."""
        from analysis.data.io import json_safe

        return json.dumps(json_safe(self.to_dict()), indent=2)

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> BaseFitter:
        """Rebuild a fitted model from :meth:`to_dict` output."""
        if state.get("model") != cls.model_name:
            raise InputError(f"saved model is {state.get('model')!r}, not {cls.model_name!r}")
        try:
            # null: a parameter a boundary answer leaves undefined (e.g. BG/NBD's b when a = 0), NaN in memory
            params = [_number(state["params"][p]) for p in cls.param_names]
            se = [_number(state["standard_errors"][p]) for p in cls.param_names]
            unit = state["time_unit"]
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"saved {cls.model_name} parameters are incomplete: {exc}") from None
        if unit not in TIME_UNITS:
            raise InputError(f"saved time_unit {unit!r} is not one of {sorted(TIME_UNITS)}")
        model = cls(penalizer=state.get("penalizer", 0.0))
        names = list(cls.param_names)
        model.params_ = pd.Series(params, index=names, name="estimate", dtype=float)
        model.standard_errors_ = pd.Series(se, index=names, name="standard_error")
        cov = state.get("covariance")
        model.covariance_ = pd.DataFrame(
            np.asarray(cov, dtype=float) if cov is not None else np.diag(np.square(se)),
            index=names,
            columns=names,
        )
        model.log_likelihood_ = float(state.get("log_likelihood", float("nan")))
        model.n_customers_ = float(state.get("n_customers", float("nan")))
        model.n_unique_ = None
        model.time_unit_ = unit
        model.penalizer_ = float(state.get("penalizer", 0.0))
        model.boundary_ = state.get("boundary")
        model._set_confidence_intervals()
        model._load_extra_state(state)
        return model

    @classmethod
    def from_json(cls, text: str) -> BaseFitter:
        """Rebuild a model from :meth:`to_json` text (files: :func:`analysis.clv.persist.load_model`)."""
        return cls.from_dict(json.loads(text))


def _number(value: Any) -> float:
    """A saved number as a float, null as NaN."""
    return float("nan") if value is None else float(value)


def _flat_directions(hess: np.ndarray, names: Sequence[str]) -> list[str]:
    """Parameters that load on the weakest direction of a (near) singular Hessian."""
    try:
        vals, vecs = np.linalg.eigh(np.where(np.isfinite(hess), hess, 0.0))
    except np.linalg.LinAlgError:
        return list(names)
    weak = np.abs(vecs[:, int(np.argmin(vals))])
    return [p for p, v in zip(names, weak, strict=True) if v >= 0.3 * weak.max()]


def _newton_refine(
    fg: Callable[[np.ndarray], tuple[float, np.ndarray]],
    u: np.ndarray,
    hess: np.ndarray,
    hess_at: Callable[[np.ndarray], np.ndarray | None] | None = None,
    max_steps: int = 30,
    where: str = "the sample's optimum",
) -> optimize.OptimizeResult | None:
    """Newton steps from ``u`` until the largest |gradient| is below 1e-10. ``hess`` is the Hessian at ``u``
    (or, without ``hess_at``, the Hessian of a sample's objective near ``u``, a close approximation of the full
    one, kept fixed: each step then costs one evaluation); ``hess_at`` gives the exact Hessian at each new point
    (quadratic convergence: two or three steps). None when the steps do not decrease the objective or do not
    converge (the caller then falls back to L-BFGS-B)."""
    try:
        np.linalg.cholesky(hess)
    except np.linalg.LinAlgError:
        return None
    f, g = fg(u)
    for step in range(1, max_steps + 1):
        if not (math.isfinite(f) and np.all(np.isfinite(g))):
            return None
        if float(np.max(np.abs(g))) < 1e-10:
            return optimize.OptimizeResult(
                x=u,
                fun=f,
                jac=g,
                success=True,
                status=0,
                nit=step - 1,
                message=f"Newton steps from {where} converged",
            )
        cand = np.clip(u - np.linalg.solve(hess, g), -_LOG_BOUND, _LOG_BOUND)
        new_hess = hess_at(cand) if hess_at is not None else hess  # with the value and gradient, in one pass
        fc, gc = fg(cand)
        if not (fc <= f + 1e-12 * max(1.0, abs(f))) or new_hess is None:
            return None
        try:
            np.linalg.cholesky(new_hess)
        except np.linalg.LinAlgError:
            return None
        u, f, g, hess = cand, fc, gc, new_hess
    return None


def _central_grad(fun: Any, u: np.ndarray, step: float = 1e-6) -> np.ndarray:
    g = np.empty_like(u)
    for i in range(u.size):
        e = np.zeros_like(u)
        e[i] = step
        g[i] = (fun(u + e) - fun(u - e)) / (2 * step)
    return g


def repeat_time_scale(data: dict[str, np.ndarray], weights: np.ndarray) -> float:
    """Total customer age / total repeat purchases (time units per repeat purchase): the centre of
    the penalty on alpha, so that r / alpha = 1 / this is the observed repeat-purchase rate."""
    total_T = float(np.dot(weights, data["T"]))
    total_x = float(np.dot(weights, data["frequency"]))
    return max(total_T, 1e-9) / max(total_x, 1.0)


_MODEL_KEYS = {"BG/NBD": "bgnbd", "MBG/NBD": "mbgnbd", "Pareto/NBD": "pareto_nbd", "Gamma-Gamma": "gamma_gamma"}


def validate_transaction_summary(frame: pd.DataFrame, model: str) -> pd.DataFrame:
    """Checks shared by BG/NBD, MBG/NBD and Pareto/NBD: valid x, t_x, T and identifiability."""
    x = frame["frequency"].to_numpy(dtype=float)
    tx = frame["t_x"].to_numpy(dtype=float)
    T = frame["T"].to_numpy(dtype=float)
    w = frame["_w"].to_numpy(dtype=float)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(tx)) and np.all(np.isfinite(T))):
        raise SummaryDataError(f"{model}: frequency, t_x and T must be finite numbers (found NaN or inf)")
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise SummaryDataError(f"{model}: frequency must be a non-negative whole number of repeat purchases")
    if np.any(tx < 0) or np.any(T < 0):
        raise SummaryDataError(f"{model}: t_x and T must be >= 0")
    bad = tx > T * (1 + 1e-9) + 1e-12
    if np.any(bad):
        ids = list(frame.index[bad][:5])
        raise SummaryDataError(
            f"{model}: t_x > T for {float(w[bad].sum()):g} customer(s) (e.g. {ids}); the last purchase cannot be "
            "after the calibration end: rebuild the summary with summary_from_transactions"
        )
    if np.any((x > 0) & (tx <= 0)):
        raise SummaryDataError(f"{model}: customers with repeat purchases must have t_x > 0")
    if np.any((x == 0) & (tx != 0)):
        raise SummaryDataError(f"{model}: customers without repeat purchases must have t_x = 0")
    live = w > 0
    n = w[live].sum()
    if live.sum() < 2 or n < 2:
        raise SummaryDataError(
            f"{model}: only {n:g} customer(s); at least two are needed to estimate how customers buy",
            "too_few_customers",
            n_customers=float(n),
            model=_MODEL_KEYS.get(model),
        )
    if not np.any(x[live] > 0):
        raise SummaryDataError(
            f"{model}: no customer has bought more than once yet (0 repeat customers of {n:g}), so how often "
            "customers buy again and when they stop cannot be estimated; use a longer history",
            "no_repeat_customers",
            n_customers=float(n),
            n_repeat=0.0,
            model=_MODEL_KEYS.get(model),
        )
    if np.all(T[live] == 0):
        raise SummaryDataError(
            f"{model}: every customer made their first purchase on the last day (T = 0), so nothing is observed yet",
            "too_few_customers",
            n_customers=float(n),
            model=_MODEL_KEYS.get(model),
        )
    frame["frequency"] = x
    return frame
