"""Riley's minimum sample size against pmsampsize's own published test values (tests/testthat/test_bin.R)."""

from __future__ import annotations

import math

import pytest

from app.errors import UserInputError
from app.stats.samplesize import cox_snell_r2_from_c_statistic, development_sample_size, max_cox_snell_r2


@pytest.mark.parametrize(
    ("r2_cs", "parameters", "prevalence", "sizes", "epp"),
    [
        # pmsampsize 1.1.3, tests 4.1–4.4: (criterion 1, 2, 3, final) and events per parameter of each
        (0.288, 24, 0.174, (623, 662, 221, 662), (4.52, 4.8, 1.6, 4.8)),
        (0.55, 24, 0.174, (255, 532, 221, 532), (1.85, 3.86, 1.6, 3.86)),
        (0.288, 36, 0.174, (934, 992, 221, 992), (4.51, 4.79, 1.07, 4.79)),
        (0.288, 24, 0.25, (623, 590, 289, 623), (6.49, 6.15, 3.01, 6.49)),
    ],
)
def test_criteria_match_pmsampsize(r2_cs, parameters, prevalence, sizes, epp):
    result = development_sample_size(parameters=parameters, prevalence=prevalence, r2_cs=r2_cs)
    assert (result.criterion_1, result.criterion_2, result.criterion_3, result.minimum) == sizes
    assert [round(result.events_per_parameter(n), 2) for n in sizes] == list(epp)


def test_max_r2_shrinkage_and_nagelkerke_of_the_worked_example():
    """By hand at φ = 0.174: φ ln φ = 0.174 · (−1.74872) = −0.30428; (1 − φ) ln(1 − φ) = 0.826 · (−0.19116)
    = −0.15790; max R²_CS = 1 − exp(2 · (−0.46218)) = 1 − 0.39680 = 0.60320.  S₂ = 0.288 / (0.288 + 0.05 ·
    0.60320) = 0.288 / 0.318160 = 0.90520 (pmsampsize prints 0.905); Nagelkerke 0.288 / 0.60320 = 0.47745."""
    assert max_cox_snell_r2(0.174) == pytest.approx(0.60320, abs=5e-5)
    result = development_sample_size(parameters=24, prevalence=0.174, r2_cs=0.288)
    assert result.shrinkage_criterion_2 == pytest.approx(0.90520, abs=5e-5)
    assert result.nagelkerke_r2 == pytest.approx(0.47745, abs=5e-5)
    # Criterion 3 by hand: (1.96/0.05)² · 0.174 · 0.826 = 1536.64 · 0.143724 = 220.85 → 221.
    assert math.ceil(1536.64 * 0.174 * 0.826) == 221 == result.criterion_3


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"parameters": 0, "prevalence": 0.2, "r2_cs": 0.1}, "predictor parameters must be 1 or more (got 0)"),
        ({"parameters": 3, "prevalence": 1.0, "r2_cs": 0.1}, "prevalence must lie strictly between 0 and 1 (got 1)"),
        ({"parameters": 3, "prevalence": 0.1, "r2_cs": 0.6}, "between 0 and 0.478, the largest possible"),
        ({"parameters": 3, "prevalence": 0.2, "r2_cs": 0.1, "shrinkage": 1.2}, "target shrinkage must lie between"),
    ],
)
def test_impossible_inputs_are_refused_with_a_message(arguments, message):
    with pytest.raises(UserInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        development_sample_size(**arguments)


def test_c_to_r2_is_the_quadrature_of_the_binormal_logistic_likelihood(monkeypatch):
    """Independently, by scipy's adaptive quadrature: μ = √2·Φ⁻¹(0.75) = 0.953873, a = logit 0.357 − μ²/2, and
    R² = 1 − exp(−2·(φ E₁[ln expit(a + μx)] + (1 − φ) E₀[ln(1 − expit(a + μx))] − ℓ₀))."""
    from scipy import integrate, stats

    import app.stats.samplesize as samplesize

    phi, c = 0.357, 0.75
    mu = math.sqrt(2) * stats.norm.ppf(c)
    assert mu == pytest.approx(0.953873, abs=1e-6)
    a = math.log(phi / (1 - phi)) - mu * mu / 2

    def log_expit(t: float) -> float:
        return -math.log1p(math.exp(-t)) if t > 0 else t - math.log1p(math.exp(t))

    events = integrate.quad(lambda x: stats.norm.pdf(x, mu, 1) * log_expit(a + mu * x), -15, 15, epsabs=1e-13)[0]
    non_events = integrate.quad(lambda x: stats.norm.pdf(x) * log_expit(-(a + mu * x)), -15, 15, epsabs=1e-13)[0]
    null = phi * math.log(phi) + (1 - phi) * math.log(1 - phi)
    expected = 1 - math.exp(-2 * (phi * events + (1 - phi) * non_events - null))
    monkeypatch.setattr(samplesize, "C_TO_R2_DECIMALS", 15)
    assert cox_snell_r2_from_c_statistic(c_statistic=c, prevalence=phi) == pytest.approx(expected, abs=1e-11)


def test_c_to_r2_is_rounded_to_four_decimals_and_symmetric_in_the_outcome_labels():
    r2 = cox_snell_r2_from_c_statistic(c_statistic=0.81, prevalence=0.23)
    assert r2 == round(r2, 4)
    assert r2 == cox_snell_r2_from_c_statistic(c_statistic=0.81, prevalence=0.77)
    assert 0 < cox_snell_r2_from_c_statistic(c_statistic=0.6, prevalence=0.3) < r2 < max_cox_snell_r2(0.23)


@pytest.mark.parametrize(("c", "prevalence"), [(0.5, 0.2), (1.0, 0.2), (0.3, 0.2), (0.7, 0.0), (0.7, 1.0)])
def test_c_to_r2_refuses_impossible_inputs(c, prevalence):
    with pytest.raises(UserInputError, match="strictly between"):
        cox_snell_r2_from_c_statistic(c_statistic=c, prevalence=prevalence)
