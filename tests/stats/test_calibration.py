"""Calibration figures against statsmodels, scikit-learn and worked examples."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from sklearn.metrics import brier_score_loss
from statsmodels.nonparametric.smoothers_lowess import lowess
from statsmodels.stats.proportion import proportion_confint

from app.stats.calibration import (
    brier_score,
    calibration_in_the_large,
    calibration_intercept_slope,
    decile_groups,
    grouped_curve,
    hosmer_lemeshow,
    observed_expected,
    scaled_brier,
    spiegelhalter_z,
    wilson_interval,
)
from app.stats.smoothers import loess_quadratic_fit, lowess_fit

TOL = 1e-6  # the contract for external-validation figures


@pytest.fixture
def miscalibrated():
    rng = np.random.default_rng(31)
    lp = rng.normal(-1.2, 1.1, 500)
    y = (rng.random(500) < 1 / (1 + np.exp(-(0.3 + 0.7 * lp)))).astype(float)
    return y, lp


def test_calibration_in_the_large_equals_glm_with_offset(miscalibrated):
    y, lp = miscalibrated
    reference = sm.GLM(y, np.ones((y.size, 1)), family=sm.families.Binomial(), offset=lp).fit(tol=1e-12)
    citl = calibration_in_the_large(y=y, lp=lp)
    assert citl.value == pytest.approx(reference.params[0], abs=TOL)
    assert citl.se == pytest.approx(reference.bse[0], abs=TOL)
    np.testing.assert_allclose(citl.ci95, reference.conf_int()[0], atol=TOL)


def test_calibration_slope_equals_logistic_refit_on_lp(miscalibrated):
    y, lp = miscalibrated
    reference = sm.GLM(y, sm.add_constant(lp), family=sm.families.Binomial()).fit(tol=1e-12)
    intercept, slope = calibration_intercept_slope(y=y, lp=lp)
    assert [intercept.value, slope.value] == pytest.approx(list(reference.params), abs=TOL)
    assert [intercept.se, slope.se] == pytest.approx(list(reference.bse), abs=TOL)
    assert slope.value == pytest.approx(0.7, abs=0.2)  # the simulated miscalibration is found


def test_brier_equals_scikit_learn(miscalibrated):
    y, lp = miscalibrated
    p = 1 / (1 + np.exp(-lp))
    assert brier_score(y=y, p=p) == pytest.approx(brier_score_loss(y, p), abs=1e-12)


# Five patients worked by hand for the figures below.
HAND_Y = np.array([1, 0, 0, 1, 0])
HAND_P = np.array([0.8, 0.3, 0.1, 0.6, 0.4])


def test_brier_scaled_brier_and_observed_expected_worked_by_hand():
    """(p − y)²: 0.04, 0.09, 0.01, 0.16, 0.16; Brier = 0.46 / 5 = 0.092.
    ȳ = 0.4, ȳ(1 − ȳ) = 0.24; scaled Brier = 1 − 0.092 / 0.24 = 0.616667.
    O/E = Σy / Σp = 2 / 2.2 = 0.909091."""
    assert brier_score(y=HAND_Y, p=HAND_P) == pytest.approx(0.092, abs=1e-12)
    assert scaled_brier(y=HAND_Y, p=HAND_P) == pytest.approx(1 - 0.092 / 0.24, abs=1e-12)
    assert observed_expected(y=HAND_Y, p=HAND_P) == pytest.approx(2 / 2.2, abs=1e-12)


def test_spiegelhalter_worked_by_hand():
    """(y − p)(1 − 2p): 0.2·(−0.6) = −0.12, −0.3·0.4 = −0.12, −0.1·0.8 = −0.08, 0.4·(−0.2) = −0.08,
    −0.4·0.2 = −0.08; sum −0.48.
    (1 − 2p)²p(1 − p): 0.36·0.16 = 0.0576, 0.16·0.21 = 0.0336, 0.64·0.09 = 0.0576, 0.04·0.24 = 0.0096,
    0.04·0.24 = 0.0096; sum 0.168, root 0.409878.
    z = −0.48 / 0.409878 = −1.171080; two-sided p = 2·Φ(−1.171080) = 0.241567.
    (p = 0.5 everywhere would make 1 − 2p = 0 and the statistic undefined.)"""
    result = spiegelhalter_z(y=HAND_Y, p=HAND_P)
    assert result.statistic == pytest.approx(-1.1710800875382397, rel=1e-12)
    assert result.p == pytest.approx(0.24156658696897293, rel=1e-9)


def test_hosmer_lemeshow_worked_example():
    """20 patients in 10 deciles of 2; computed by hand from the formula."""
    p = np.repeat(np.linspace(0.05, 0.95, 10), 2)
    y = np.array([0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1])
    hl = hosmer_lemeshow(y=y, p=p)
    observed = y.reshape(10, 2).sum(axis=1)
    expected = p.reshape(10, 2).sum(axis=1)
    by_hand = np.sum((observed - expected) ** 2 / (expected * (1 - expected / 2)))
    from scipy.stats import chi2

    assert hl.groups == 10 and hl.df == 8
    assert hl.chi2 == pytest.approx(by_hand, rel=1e-12)
    assert hl.p == pytest.approx(chi2.sf(by_hand, 8), rel=1e-12)


def test_deciles_never_split_tied_risks():
    p = np.array([0.1] * 50 + [0.2] * 30 + [0.6] * 20)
    groups = decile_groups(p)
    for value in (0.1, 0.2, 0.6):
        assert np.unique(groups[p == value]).size == 1
    assert np.unique(groups).size == 3


def test_grouped_curve_uses_wilson_intervals():
    rng = np.random.default_rng(2)
    p = rng.random(200)
    y = (rng.random(200) < p).astype(float)
    curve = grouped_curve(y=y, p=p)
    events = np.round(np.array(curve["observed"]) * np.array(curve["n"]))
    lo, hi = proportion_confint(events, curve["n"], method="wilson")
    np.testing.assert_allclose(curve["observed_lo"], lo, atol=1e-12)
    np.testing.assert_allclose(curve["observed_hi"], hi, atol=1e-12)
    np.testing.assert_allclose(wilson_interval(events=np.array([0.0]), n=np.array([10.0]))[0], [0.0], atol=1e-15)


@pytest.mark.parametrize(("decimals", "delta"), [(2, None), (8, 0.0), (3, 0.0)])
def test_lowess_equals_statsmodels_with_and_without_ties(decimals, delta):
    """statsmodels's interpolation (delta) can fit one more point than R's clowess near the
    right end, so without ties the local fits are compared with delta = 0; R itself is
    compared with its default delta in test_against_r."""
    rng = np.random.default_rng(decimals)
    x = np.round(rng.random(300), decimals)
    y = (rng.random(300) < x).astype(float)
    ux, fitted = lowess_fit(x, y, delta=delta)
    reference = lowess(y, x, frac=2 / 3, it=0, delta=0.01 * np.ptp(x) if delta is None else delta)
    lookup = dict(zip(reference[:, 0], reference[:, 1], strict=True))
    np.testing.assert_allclose(fitted, [lookup[v] for v in ux], atol=1e-10)


def test_lowess_with_multiplicities_equals_lowess_on_expanded_data():
    rng = np.random.default_rng(3)
    x = np.round(rng.random(80), 2)
    y = (rng.random(80) < x).astype(float)
    counts = rng.integers(0, 4, 80)
    ux_w, fitted_w = lowess_fit(x, y, weights=counts)
    ux_e, fitted_e = lowess_fit(np.repeat(x, counts), np.repeat(y, counts))
    np.testing.assert_allclose(ux_w, ux_e)
    np.testing.assert_allclose(fitted_w, fitted_e, atol=1e-12)


def test_loess_quadratic_reproduces_a_quadratic_exactly():
    x = np.linspace(0, 1, 60)
    y = 0.2 + 0.5 * x - 0.3 * x**2
    _, fitted = loess_quadratic_fit(x, y)
    np.testing.assert_allclose(fitted, y, atol=1e-10)


def test_ici_stays_finite_when_most_patients_share_one_risk():
    from app.stats.calibration import integrated_calibration_index

    p = np.array([0.2] * 80 + list(np.linspace(0.3, 0.6, 20)))
    y = np.array([1] * 15 + [0] * 65 + [1, 0] * 10, dtype=float)
    assert np.isfinite(integrated_calibration_index(y=y, p=p))
