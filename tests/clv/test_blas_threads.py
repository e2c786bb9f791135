"""The CLV fits run with one BLAS thread (:func:`analysis.clv._base.one_blas_thread`) and give the setting back."""

from __future__ import annotations

from threadpoolctl import threadpool_info, threadpool_limits

from analysis.clv._base import one_blas_thread
from analysis.clv.bgnbd import BGNBD
from analysis.clv.gamma_gamma import GammaGamma
from analysis.clv.mbgnbd import ModifiedBGNBD
from analysis.clv.pareto_nbd import ParetoNBD


def _blas_threads() -> set[int]:
    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


def test_a_fit_sees_one_blas_thread_and_the_callers_setting_is_restored() -> None:
    seen: list[set[int]] = []

    @one_blas_thread
    def fit() -> str:
        seen.append(_blas_threads())
        return "fitted"

    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        assert fit() == "fitted"
        assert _blas_threads() == before
    assert seen == [{1}]


def test_the_models_fit_methods_carry_the_limit() -> None:
    for model in (BGNBD, ParetoNBD, ModifiedBGNBD, GammaGamma):
        assert getattr(model.fit, "__wrapped__", None) is not None, model  # functools.wraps of one_blas_thread
