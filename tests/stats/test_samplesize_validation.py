"""Riley et al.'s (2021) external-validation criteria, each against a hand computation written out here."""

from __future__ import annotations

import math

import pytest

from app.errors import UserInputError
from app.stats.samplesize_validation import (
    empirical_lp_distribution,
    normal_lp_distribution,
    validation_sample_size,
)

TWO_POINTS = empirical_lp_distribution(risks=[1 / (1 + math.e), math.e / (1 + math.e)], counts=[5, 5], description="±1")


def test_observed_expected_se_is_rounded_up_to_pmvalsampsize_grid():
    """Width 1 at O/E 1: 2·sinh(1.96·SE) = 1 → SE = asinh(0.5)/1.96 = 0.481212/1.96 = 0.245516; pmvalsampsize's
    0.0001 steps stop at 0.2456.  n = 0.982/(0.018 · 0.2456²) = 0.982/0.00108575 = 904.45 → 905 (the paper's 905);
    the exact SE would give 0.982/(0.018 · 0.0602781) = 905.06 → 906."""
    result = validation_sample_size(prevalence=0.018, c_statistic=0.8, lp=TWO_POINTS, oe_ci_width=1)
    oe = result.criteria[0]
    assert oe.key == "observed_expected"
    assert oe.se == pytest.approx(0.2456, abs=1e-12)
    assert oe.sample_size == 905 == math.ceil(0.982 / (0.018 * 0.2456**2))
    assert math.ceil(0.982 / (0.018 * (math.asinh(0.5) / 1.96) ** 2)) == 906


def test_calibration_slope_from_a_two_point_lp():
    """LP ±1 equally often: p(1 − p) = e/(1 + e)² = 0.196612 at both, so I₀₀ = I₁₁ = 0.196612, I₀₁ = 0 and
    n = I₀₀ / (SE²·I₀₀·I₁₁) = 1 / (SE²·0.196612), SE = 0.2/3.92 = 0.0510204: 1/(0.00260308 · 0.196612) = 1953.9
    → 1954."""
    result = validation_sample_size(prevalence=0.2, c_statistic=0.7, lp=TWO_POINTS)
    slope = result.criteria[1]
    assert result.details["information_00"] == pytest.approx(0.196612, abs=1e-6)
    assert result.details["information_01"] == pytest.approx(0.0, abs=1e-15)
    assert result.details["information_11"] == pytest.approx(0.196612, abs=1e-6)
    assert slope.se == pytest.approx(0.2 / 3.92)
    assert slope.sample_size == 1954


def newcombe_width(c: float, prevalence: float, n: int) -> float:
    """2·1.96·SE(C), SE² = C(1 − C)[1 + (n/2 − 1)(1 − C)/(2 − C) + (n/2 − 1)C/(1 + C)] / (n²φ(1 − φ))."""
    v = (
        c
        * (1 - c)
        * (1 + (n / 2 - 1) * (1 - c) / (2 - c) + (n / 2 - 1) * c / (1 + c))
        / (n * n * prevalence * (1 - prevalence))
    )
    return 2 * 1.96 * math.sqrt(v)


@pytest.mark.parametrize(("c", "prevalence", "width"), [(0.8, 0.018, 0.1), (0.72, 0.1, 0.08), (0.95, 0.5, 0.02)])
def test_c_statistic_n_is_the_first_whose_ci_is_narrow_enough(c, prevalence, width):
    n = validation_sample_size(prevalence=prevalence, c_statistic=c, lp=TWO_POINTS, c_ci_width=width).criteria[2]
    assert newcombe_width(c, prevalence, n.sample_size) <= width < newcombe_width(c, prevalence, n.sample_size - 1)


def test_net_benefit_with_given_accuracy():
    """φ 0.1, t 0.15, Se 0.7, Sp 0.6, width 0.3: odds 0.176471, w = 9 · 0.176471 = 1.588235; SE 0.3/3.92 = 0.076531
    → grid 0.0766 → 3 decimals 0.077.  Se(1 − Se)/φ = 2.1; w²Sp(1 − Sp)/(1 − φ) = 2.522491 · 0.24/0.9 = 0.672664;
    w²(1 − Sp)²/(φ(1 − φ)) = 2.522491 · 0.16/0.09 = 4.484429; n = 7.257093/0.077² = 1223.997 → 1224.
    sNB = 0.7 − 0.4 · 9 · 0.176471 = 0.064706."""
    result = validation_sample_size(
        prevalence=0.1, c_statistic=0.72, lp=TWO_POINTS, threshold=0.15, sensitivity=0.7, specificity=0.6,
        nb_ci_width=0.3,
    )  # fmt: skip
    nb = result.criteria[3]
    assert (nb.key, nb.se, nb.sample_size) == ("net_benefit", 0.077, 1224)
    assert nb.anticipated == pytest.approx(0.064706, abs=1e-6)
    assert not result.accuracy_implied


def test_implied_accuracy_counts_a_risk_at_the_threshold_as_positive():
    """Risks 0.1, 0.5, 0.9 once each, threshold 0.5, the model calibrated: Se = (0.5 + 0.9)/1.5 = 0.9333 → 0.93;
    Sp = 0.9/1.5 = 0.6 (0.5 is positive)."""
    lp = empirical_lp_distribution(risks=[0.1, 0.5, 0.9], counts=[1, 1, 1], description="three")
    result = validation_sample_size(prevalence=0.5, c_statistic=0.7, lp=lp, threshold=0.5)
    assert (result.details["sensitivity"], result.details["specificity"]) == (0.93, 0.6)
    assert result.accuracy_implied


def test_normal_and_many_point_empirical_lp_agree():
    """An empirical LP on a fine grid of a normal's quantiles approaches the normal's quadrature."""
    from statistics import NormalDist

    grid = [NormalDist(-1.0, 0.8).inv_cdf((i + 0.5) / 4000) for i in range(4000)]
    empirical = empirical_lp_distribution(
        risks=[1 / (1 + math.exp(-x)) for x in grid], counts=[1] * 4000, description=""
    )
    normal = normal_lp_distribution(mean=-1.0, sd=0.8, description="")
    a = validation_sample_size(prevalence=0.3, c_statistic=0.7, lp=empirical).details
    b = validation_sample_size(prevalence=0.3, c_statistic=0.7, lp=normal).details
    for key in ("information_00", "information_01", "information_11"):
        assert a[key] == pytest.approx(b[key], rel=2e-3)


def test_binding_criterion_and_events():
    result = validation_sample_size(prevalence=0.2, c_statistic=0.7, lp=TWO_POINTS)
    sizes = {c.key: c.sample_size for c in result.criteria}
    assert result.minimum == max(sizes.values()) == sizes["calibration_slope"]
    assert result.binding == ("calibration_slope",)
    assert result.events == pytest.approx(result.minimum * 0.2)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"prevalence": 0.0}, "prevalence must lie strictly between 0 and 1"),
        ({"prevalence": 1.0}, "prevalence must lie strictly between 0 and 1"),
        ({"c_statistic": 0.5}, "C-statistic must lie strictly between 0.5 and 1"),
        ({"oe_ci_width": 0.0}, "O/E CI width must be a positive number"),
        ({"slope_ci_width": -0.1}, "calibration-slope CI width must be a positive number"),
        ({"c_ci_width": 0.0}, "C-statistic CI width must be a positive number"),
        ({"threshold": 1.0}, "risk threshold must lie strictly between 0 and 1"),
        ({"threshold": 0.2, "sensitivity": 0.7}, "give both --sensitivity and --specificity"),
        ({"sensitivity": 0.7, "specificity": 0.5}, "give --threshold too"),
        ({"threshold": 0.2, "sensitivity": 1.2, "specificity": 0.5}, "sensitivity must lie between 0 and 1"),
    ],
)
def test_bad_inputs_are_refused(arguments, message):
    values = {"prevalence": 0.2, "c_statistic": 0.7, "lp": TWO_POINTS} | arguments
    with pytest.raises(UserInputError, match=message):
        validation_sample_size(**values)


def test_a_degenerate_lp_is_refused():
    single = empirical_lp_distribution(risks=[0.3], counts=[10], description="one value")
    with pytest.raises(UserInputError, match="single value"):
        validation_sample_size(prevalence=0.3, c_statistic=0.7, lp=single)
    with pytest.raises(UserInputError, match="standard deviation must be positive"):
        normal_lp_distribution(mean=0.0, sd=0.0, description="")
