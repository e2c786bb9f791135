"""CLV that degrades well: a scale-free penalizer, checked convergence, plain-language reasons,
fallbacks (another purchase model, then a run rate), unit-aware defaults and a P(alive) that says
when it cannot separate customers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis.clv._base import CLVFitError
from analysis.clv.bgnbd import BGNBD
from analysis.clv.gamma_gamma import GammaGamma
from analysis.clv.pipeline import customer_value, estimate_customer_value, fit_clv, write_clv
from analysis.clv.simulate import simulate_bgnbd_summary
from analysis.clv.summary import summary_from_transactions
from analysis.clv.value import p_alive_separation
from analysis.errors import ModelError
from analysis.params import CLVParams
from analysis.strategy.churn import churn_warnings

CALIBRATION_END = "1997-09-30"


def _log(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    ids, days, amounts = zip(*rows, strict=True)
    return pd.DataFrame({"customer_id": list(ids), "order_date": pd.to_datetime(list(days)), "amount": list(amounts)})


# ---------------------------------------------------------------- a penalizer that does not depend on units


@pytest.mark.parametrize("penalizer", [0.0, 0.05])
def test_weeks_and_days_give_the_same_fit(cdnow_transactions: pd.DataFrame, penalizer: float) -> None:
    weeks = summary_from_transactions(cdnow_transactions, CALIBRATION_END, None, "W")
    days = summary_from_transactions(cdnow_transactions, CALIBRATION_END, None, "D")
    w = BGNBD(penalizer=penalizer).fit(weeks)
    d = BGNBD(penalizer=penalizer).fit(days)
    ratio = d.params_ / w.params_
    np.testing.assert_allclose(ratio[["r", "a", "b"]], 1.0, rtol=1e-4)
    assert ratio["alpha"] == pytest.approx(7.0, rel=1e-4)  # alpha is in time units
    np.testing.assert_allclose(d.conditional_probability_alive(days), w.conditional_probability_alive(weeks), atol=1e-6)
    np.testing.assert_allclose(
        d.conditional_expected_purchases(364, days), w.conditional_expected_purchases(52, weeks), rtol=1e-4
    )


@pytest.mark.parametrize("penalizer", [0.001, 0.05])
def test_spend_in_thousands_gives_the_same_fit(cdnow_summary: pd.DataFrame, penalizer: float) -> None:
    pounds = GammaGamma(penalizer=penalizer).fit(cdnow_summary)
    pence = cdnow_summary.assign(monetary_value=cdnow_summary["monetary_value"] * 1000)
    milli = GammaGamma(penalizer=penalizer).fit(pence)
    ratio = milli.params_ / pounds.params_
    assert ratio["p"] == pytest.approx(1.0, rel=1e-4) and ratio["q"] == pytest.approx(1.0, rel=1e-4)
    assert ratio["v"] == pytest.approx(1000.0, rel=1e-4)  # v is in currency
    np.testing.assert_allclose(
        milli.conditional_expected_average_profit(pence),
        1000 * pounds.conditional_expected_average_profit(cdnow_summary),
        rtol=1e-4,
    )
    # the old L2 on raw parameters sent q below 1 here (an infinite mean); now the mean stays near the data's
    unpenalized = GammaGamma().fit(cdnow_summary).population_mean_spend()
    assert 1000 * unpenalized * 0.9 < milli.population_mean_spend() < 1000 * unpenalized * 1.3


def test_customer_value_is_the_same_in_any_currency(cdnow_transactions: pd.DataFrame) -> None:
    huge = cdnow_transactions.assign(amount=cdnow_transactions["amount"] * 1e6)
    base = estimate_customer_value(cdnow_transactions, CALIBRATION_END, penalizer=0.01)
    scaled = estimate_customer_value(huge, CALIBRATION_END, penalizer=0.01)
    assert (base.method, scaled.method) == ("bgnbd", "bgnbd")
    assert scaled.spend_method == "gamma_gamma" and scaled.reason is None
    np.testing.assert_allclose(scaled.customers["clv"], 1e6 * base.customers["clv"], rtol=1e-4)
    np.testing.assert_allclose(scaled.customers["p_alive"], base.customers["p_alive"], atol=1e-8)


def test_published_values_need_no_penalizer_and_report_convergence(
    cdnow_bgnbd: BGNBD, cdnow_summary: pd.DataFrame
) -> None:
    assert cdnow_bgnbd.penalizer_ == 0.0
    assert cdnow_bgnbd.convergence_["max_abs_gradient"] < 1e-6
    assert set(cdnow_bgnbd.convergence_) >= {"success", "status", "message", "iterations"}
    # the penalty centre of alpha is customer age per repeat purchase (weeks): r / alpha = observed repeat rate
    age_per_repeat = cdnow_summary["T"].sum() / cdnow_summary["frequency"].sum()
    assert cdnow_bgnbd.penalty_centre_["alpha"] == pytest.approx(age_per_repeat)
    assert cdnow_bgnbd.penalty_centre_[["r", "a", "b"]].tolist() == [1.0, 1.0, 1.0]


# ---------------------------------------------------------------- convergence and plain-language reasons


class _WrongSlope(BGNBD):
    """BG/NBD whose gradient points the wrong way for r: no optimiser can settle on it."""

    def _loglik_grad(self, theta, reduced, grad=True):
        ll, g = super()._loglik_grad(theta, reduced, grad)
        if g is not None:
            g[0] = -g[0] + reduced["W"]
        return ll, g


def test_a_fit_that_does_not_settle_is_refused(cdnow_summary: pd.DataFrame) -> None:
    with pytest.raises(ModelError, match="did not settle") as info:
        _WrongSlope().fit(cdnow_summary)
    assert info.value.code == "not_converged"
    assert "penalizer" not in str(info.value)  # a penalty would not cure a broken optimisation


def test_one_repeat_customer_is_explained_and_the_advice_works() -> None:
    rows = [(c, f"2024-01-{d:02d}", 10.0) for c, d in zip("abcdefgh", range(1, 9), strict=True)]
    summary = summary_from_transactions(_log([*rows, ("a", "2024-02-20", 12.0)]), "2024-03-31", None, "W")
    with pytest.raises(CLVFitError, match=r"too few repeat customers \(n=1\)") as info:
        BGNBD().fit(summary)
    err = info.value
    assert err.code == "too_few_repeat_customers"
    assert str(err).startswith("BG/NBD: too few repeat customers (n=1) to estimate how")
    assert "a penalizer pulls the estimates towards typical values" in str(err) and "smallest error" in str(err)
    assert "penalizer=0" not in str(err)  # no fixed value is advised: the holdout error chooses it
    model = BGNBD(penalizer=0.1).fit(summary)  # a penalizer does make the fit finite
    assert np.all(np.isfinite(model.params_)) and np.all(np.isfinite(model.standard_errors_))
    p = model.conditional_probability_alive(summary)
    assert p.between(0, 1).all()


def test_no_penalizer_advice_when_it_cannot_help() -> None:
    summary = summary_from_transactions(
        _log([(c, f"2024-01-{d:02d}", 10.0) for c, d in zip("abcde", range(1, 6), strict=True)]), "2024-03-31"
    )
    for penalizer in (0.0, 1.0):
        with pytest.raises(CLVFitError, match="no customer has bought more than once") as info:
            BGNBD(penalizer=penalizer).fit(summary)
        assert info.value.code == "no_repeat_customers"
        assert "no customer has bought more than once" in str(info.value) and "penalizer" not in str(info.value)


# ---------------------------------------------------------------- fallbacks


def test_other_purchase_model_when_the_first_cannot_be_identified(cdnow_transactions: pd.DataFrame) -> None:
    # three months of CDNOW: Pareto/NBD cannot pin down how long customers keep buying, BG/NBD can
    value = estimate_customer_value(cdnow_transactions, "1997-03-31", model="pareto_nbd")
    assert value.method == "bgnbd" and value.reason_code == "unidentified"
    assert value.reason.startswith("BG/NBD + Gamma-Gamma used because Pareto/NBD: the data cannot pin down how long")
    assert value.reason_text("zh").startswith("采用BG/NBD + Gamma-Gamma，因为Pareto/NBD：数据无法确定客户持续购买")
    assert "pareto_nbd" in value.failures and value.transaction_model.model_name == "bgnbd"
    assert value.customers["clv"].notna().all() and (value.customers["clv"] >= 0).all()


def test_one_repeat_customer_falls_back_to_the_run_rate() -> None:
    rows = [("i", "2024-01-01", 5.0), ("a", "2024-03-01", 10.0), ("a", "2024-09-01", 30.0)]
    rows += [(c, "2024-02-01", 20.0) for c in "bcdefgh"]
    value = estimate_customer_value(_log(rows), "2024-12-31", time_unit="W")
    assert value.method == "run_rate" and value.method_name == "run-rate estimate"
    assert value.reason_code == "too_few_repeat_customers"
    assert value.reason.startswith("Run-rate estimate used (purchases per customer so far × the share of customers")
    assert "too few repeat customers (n=1)" in value.reason and value.reason.count("a penalizer pulls") == 1
    zh = value.reason_text("zh")
    assert zh.startswith("采用按历史购买速率估算") and "复购客户太少（n=1）" in zh and "惩罚项" in zh
    assert not value.p_alive_informative and value.customers["p_alive"].isna().all()
    rr = value.run_rate
    # history 365 days -> window 182 days: of the 8 customers who bought in [01-02, 07-02] only "a" bought again after
    assert rr.retention_window_days == 182 and rr.retention_customers == 8
    assert rr.retention_per_unit == pytest.approx((1 / 8) ** (7 / 182))
    c = value.customers
    # population repeat rate: 1 repeat purchase day in 365 + 305 + 7 x 334 = 3008 customer-days; each rate is shrunk
    # towards it by 90 days of history: "a" (1 repeat day in 305 days), "d" (one purchase, 334 days ago)
    pop = 1 / 3008
    a_rate = (1 + pop * 90) / (305 + 90) * 7
    d_rate = (0 + pop * 90) / (334 + 90) * 7  # a one-time buyer is not 0 by construction
    kept = sum(rr.retention_per_unit**k for k in range(1, 53))
    assert c.loc["a", "expected_purchases"] == pytest.approx(a_rate * kept)
    assert c.loc["a", "spend_per_purchase"] == pytest.approx(20.0)
    assert c.loc["d", "expected_purchases"] == pytest.approx(d_rate * kept) and c.loc["d", "spend_per_purchase"] == 20.0
    assert 0 < c.loc["a", "clv"] < c.loc["a", "expected_purchases"] * 20.0  # discounted


def test_all_one_time_buyers_get_a_run_rate_of_zero_with_the_reason() -> None:
    log = _log([(c, f"2024-0{m}-01", 10.0 * m) for c, m in zip("abcde", range(1, 6), strict=True)])
    frame = customer_value(log, "2024-06-30")
    assert list(frame.columns) == [
        "p_alive",
        "expected_purchases",
        "spend_per_purchase",
        "expected_spend_horizon",
        "clv",
    ]
    assert frame.attrs["clv_method"] == "run_rate"
    assert "no customer has bought more than once yet (0 repeat customers of 5)" in frame.attrs["clv_reason"]
    assert "penalizer" not in frame.attrs["clv_reason"]
    assert (frame["expected_purchases"] == 0).all() and (frame["clv"] == 0).all()
    assert frame["spend_per_purchase"].tolist() == [10.0, 20.0, 30.0, 40.0, 50.0]


def test_fit_clv_records_the_method_and_refuses_data_no_model_can_use(cdnow_transactions, tmp_path) -> None:
    result = fit_clv(cdnow_transactions, CALIBRATION_END, time_unit="W")
    assert result.method == "bgnbd" and result.reason is None and result.spend_method == "gamma_gamma"
    assert result.p_alive_check.informative
    params = json.loads(write_clv(result, tmp_path)["params"].read_text())
    assert (params["method"], params["reason"], params["spend_method"]) == ("bgnbd", None, "gamma_gamma")
    log = _log([(c, "2024-01-01", 10.0) for c in "abc"])
    with pytest.raises(CLVFitError, match="no customer has bought more than once") as info:
        fit_clv(log, "2024-03-31")
    assert info.value.code == "no_repeat_customers"


# ---------------------------------------------------------------- unit-aware defaults


def test_defaults_are_one_year_in_the_unit() -> None:
    months, weeks, days = CLVParams(time_unit="M"), CLVParams(), CLVParams(time_unit="D")
    assert (months.horizon, weeks.horizon, days.horizon) == (12, 52, 365)
    assert (1 + months.discount_rate) ** 12 == pytest.approx(1.10)
    assert (1 + weeks.discount_rate) ** (365.25 / 7) == pytest.approx(1.10)
    assert (1 + CLVParams(time_unit="M", annual_discount_rate=0.2).discount_rate) ** 12 == pytest.approx(1.2)
    assert CLVParams(horizon=26, discount_rate=0.01).discount_rate == 0.01  # old keys keep working
    assert CLVParams.model_validate(months.model_dump()) == months
    with pytest.raises(ValueError, match="disagree"):
        CLVParams(discount_rate=0.01, annual_discount_rate=0.10)


def test_months_and_weeks_give_about_the_same_one_year_value(cdnow_transactions: pd.DataFrame) -> None:
    weeks = estimate_customer_value(cdnow_transactions, CALIBRATION_END, time_unit="W")
    months = estimate_customer_value(cdnow_transactions, CALIBRATION_END, time_unit="M")
    assert (weeks.horizon, months.horizon) == (52, 12)
    total_w, total_m = weeks.customers["clv"].sum(), months.customers["clv"].sum()
    assert total_m == pytest.approx(total_w, rel=0.02)  # 364 vs 365.25 days, weekly vs monthly discounting


# ---------------------------------------------------------------- P(alive) that cannot separate customers


def test_p_alive_separates_cdnow_customers(cdnow_bgnbd: BGNBD, cdnow_summary: pd.DataFrame) -> None:
    check = p_alive_separation(cdnow_bgnbd.conditional_probability_alive(cdnow_summary), cdnow_summary["frequency"] > 0)
    assert check.informative and check.n_customers == 946
    assert check.share_certain < 0.01 and check.spread > 0.5


def test_p_alive_near_one_for_everyone_is_flagged() -> None:
    # loyal, frequent buyers who almost never drop out: P(alive) is about 1 for nearly everyone
    summary = simulate_bgnbd_summary(3000, r=2.0, alpha=2.0, a=0.05, b=30.0, T=52.0, seed=3)
    model = BGNBD().fit(summary, time_unit="W")
    check = p_alive_separation(model.conditional_probability_alive(summary), summary["frequency"] > 0)
    assert not check.informative and check.code == "nearly_all_certain"
    assert check.share_certain >= 0.9 and "own usual gap" in check.reason
    assert "流失预警改用每位客户自己通常的购买间隔" in check.describe("zh")


def test_churn_rules_use_the_usual_gap_when_p_alive_cannot_separate() -> None:
    n = 30
    as_of = pd.Timestamp("2024-06-30")
    c = pd.DataFrame(
        {
            "monetary": [1000.0] + [10.0] * (n - 1),
            "recency_days": [40] + [5] * (n - 1),
            "frequency": [5] * n,
            "p_alive": [0.40] + [0.99] * (n - 1),
        },
        index=pd.Index([f"c{i:02d}" for i in range(n)], name="customer_id"),
    )
    c["last_purchase"] = as_of - pd.to_timedelta(c["recency_days"], "D")
    c["first_purchase"] = c["last_purchase"] - pd.Timedelta(days=40)  # usual gap 10 days
    w = churn_warnings(c)
    assert list(w.index) == ["c00"]
    assert bool(w.loc["c00", "late"]) and not bool(w.loc["c00", "low_p_alive"])  # 40 days > 2 x 10-day gap
    assert w.attrs["p_alive_used"] is False and "P(alive) is above 0.95" in w.attrs["p_alive_reason"]
    # when P(alive) does separate customers, the same customer is also flagged by it
    spread = c.assign(p_alive=np.linspace(0.4, 1.0, n))
    w2 = churn_warnings(spread)
    assert w2.attrs["p_alive_used"] and bool(w2.loc["c00", "low_p_alive"])
    # an explicit flag from the CLV step wins
    assert not churn_warnings(spread, p_alive_informative=False).attrs["p_alive_used"]
