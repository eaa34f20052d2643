"""Maximum-likelihood fit: agreement with scikit-learn, and refusals that name the problem."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from app.errors import CollinearityError, StatisticalError
from app.stats.fit import SeparationError, collinear_predictors, fit_logistic, separated_predictors
from tests.conftest import simulated_xy

NAMES = ("surface_depression", "ki67_percent", "cga_positive")
COEF_RTOL = 1e-4  # the contract: agreement with an independent fit to 1e-4 relative


def test_coefficients_match_scikit_learn_unpenalised():
    x, y = simulated_xy(400, 1)
    fit = fit_logistic(x=x, y=y, names=NAMES)
    reference = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(x, y)
    np.testing.assert_allclose(fit.coef_, [reference.intercept_[0], *reference.coef_[0]], rtol=COEF_RTOL)


def test_covariance_is_inverse_observed_information():
    x, y = simulated_xy(300, 2)
    fit = fit_logistic(x=x, y=y, names=NAMES)
    design = np.column_stack([np.ones(y.size), x])
    p = 1 / (1 + np.exp(-(design @ fit.coef_)))
    information = design.T @ (design * (p * (1 - p))[:, None])
    np.testing.assert_allclose(fit.cov_, np.linalg.inv(information), rtol=1e-8)


def test_table_has_wald_odds_ratio_intervals():
    x, y = simulated_xy(300, 3)
    fit = fit_logistic(x=x, y=y, names=NAMES)
    row = fit.table()[2]
    se = np.sqrt(fit.cov_[2, 2])
    assert row.name == "ki67_percent"
    assert row.odds_ratio == pytest.approx(np.exp(fit.coef_[2]))
    assert row.or_ci95[0] == pytest.approx(np.exp(fit.coef_[2] - 1.959963984540054 * se))
    from scipy.stats import norm

    assert row.p == pytest.approx(2 * norm.sf(abs(fit.coef_[2] / se)), rel=1e-9)


def test_binary_predictor_with_an_empty_cell_is_named_as_separating():
    """Every event CgA positive: along β = (−1, 0, 0, 1) every patient's sᵢx̃ᵢᵀβ ≥ 0, quasi-completely
    (CgA-positive patients sit on the boundary); no direction involves the other two predictors."""
    x, y = simulated_xy(300, 4)
    x[:, 2] = np.where(y == 1, 1.0, x[:, 2])
    with pytest.raises(SeparationError) as caught:
        fit_logistic(x=x, y=y, names=NAMES)
    assert str(caught.value) == (
        "perfect or quasi-complete separation: 'cga_positive' predicts the outcome without error for part or all "
        "of this cohort, so the maximum-likelihood coefficients of those predictors do not exist (they run off to "
        "infinity). Check the coding of those columns and of non_curative_resection; with real separation, collect "
        "more patients, merge sparse categories or use a penalised (Firth) fit outside this tool."
    )


def test_separation_by_a_combination_of_findings_is_found_and_named():
    """No finding separates alone, their sum does: y = 1 when both are present, 0 when neither, and
    both outcomes when one is.  β = (−1, 1, 0, 1) gives sᵢx̃ᵢᵀβ = 1, 0, 1 in the three groups."""
    rng = np.random.default_rng(14)
    n = 240
    depression = np.repeat([0.0, 1.0, 0.0, 1.0], n // 4)
    cga = np.repeat([0.0, 0.0, 1.0, 1.0], n // 4)
    ki67 = np.round(rng.lognormal(0.4, 0.8, n), 1)
    y = np.where(depression + cga == 2, 1.0, 0.0)
    one_finding = depression + cga == 1
    y[one_finding] = rng.random(one_finding.sum()) < 0.4
    x = np.column_stack([depression, ki67, cga])
    assert separated_predictors(x, y, NAMES) == ["surface_depression", "cga_positive"]
    with pytest.raises(SeparationError, match="a combination of 'surface_depression', 'cga_positive' predicts"):
        fit_logistic(x=x, y=y, names=NAMES)


def test_a_g3_lesion_with_an_extreme_ki67_is_a_valid_patient():
    """One event with Ki-67 95 % has a fitted risk of ~1 − 1e-11, but the outcome is not separated: the MLE
    exists and equals scikit-learn's unpenalised fit (a second, independent optimiser)."""
    x, y = simulated_xy(213, 15)
    x = np.vstack([x, [0.0, 95.0, 1.0]])
    y = np.append(y, 1.0)
    assert separated_predictors(x, y, NAMES) == []
    fit = fit_logistic(x=x, y=y, names=NAMES)
    reference = LogisticRegression(C=np.inf, tol=1e-12, max_iter=100_000).fit(x, y)
    np.testing.assert_allclose(fit.coef_, [reference.intercept_[0], *reference.coef_[0]], rtol=COEF_RTOL)


def test_continuous_threshold_separation_is_named():
    x, y = simulated_xy(300, 5)
    x[:, 1] = np.where(y == 1, 10 + x[:, 1], x[:, 1] / 10)
    with pytest.raises(SeparationError, match="'ki67_percent'"):
        fit_logistic(x=x, y=y, names=NAMES)


def test_too_few_events_is_an_error_that_says_so():
    x, y = simulated_xy(300, 6)
    y[:] = 0
    y[:9] = 1
    with pytest.raises(StatisticalError, match="9 event"):
        fit_logistic(x=x, y=y, names=NAMES)


def test_constant_predictor_is_refused():
    x, y = simulated_xy(200, 7)
    x[:, 2] = 1.0
    with pytest.raises(StatisticalError, match="'cga_positive' has the same value"):
        fit_logistic(x=x, y=y, names=NAMES)


def test_collinear_predictors_are_refused_by_rank_naming_them():
    """An exact combination (Ki-67 entered again as 2·Ki-67 + 1) is found by the SVD before any fit.

    Whatever the BLAS kernel does with the singular information matrix, the message is about
    collinearity, names the two columns and never blames Ki-67 decimals.
    """
    x, y = simulated_xy(200, 8)
    x = np.column_stack([x, 2 * x[:, 1] + 1])
    with pytest.raises(CollinearityError) as caught:
        fit_logistic(x=x, y=y, names=(*NAMES, "copy"))
    assert str(caught.value) == (
        "the predictors 'ki67_percent', 'copy' are collinear in this cohort: one of them is (almost) exactly a "
        "linear combination of the others (for example the same finding entered twice, or in two units), so their "
        "separate effects cannot be estimated. Leave one of them out with --predictors."
    )


def test_collinearity_of_binary_findings_names_only_those_involved():
    """cga = 1 − depression for every patient: depression + cga − 1 = 0, Ki-67 not involved."""
    x, y = simulated_xy(200, 9)
    x[:, 2] = 1 - x[:, 0]
    assert collinear_predictors(x, NAMES) == ["surface_depression", "cga_positive"]


def test_correlated_but_estimable_predictors_are_not_called_collinear():
    """Ki-67 and a noisy copy of it (correlation about 0.999) still have a full-rank design."""
    x, y = simulated_xy(200, 10)
    noisy = x[:, 1] + np.random.default_rng(3).normal(0, 0.1, size=200)
    assert np.corrcoef(x[:, 1], noisy)[0, 1] > 0.99
    assert collinear_predictors(np.column_stack([x, noisy]), (*NAMES, "noisy")) == []
    assert collinear_predictors(x, NAMES) == []
