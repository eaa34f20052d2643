"""Riley's minimum sample size against pmsampsize's own published test values (tests/testthat/test_bin.R)."""

from __future__ import annotations

import math

import pytest

from app.errors import UserInputError
from app.stats.samplesize import development_sample_size, max_cox_snell_r2


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
