"""Nomogram geometry against examples worked by hand from STATISTICS.md ("Nomogram", as `rms::nomogram`).

rⱼ = |βⱼ|·(hiⱼ − loⱼ); s = 100 / maxⱼ rⱼ; points(x) = s·(βⱼx − min over the axis of βⱼx);
lp = β0 + Σⱼ min(βⱼx) + T/s.
"""

from __future__ import annotations

import math

import pytest

from app.model.nomogram import build_nomogram


def _expit(eta: float) -> float:
    return 1 / (1 + math.exp(-eta))


def test_widest_axis_spans_100_points_and_lowest_risk_end_scores_zero():
    predictors = [
        {"name": "a", "kind": "binary", "nomogram_range": [0.0, 1.0]},
        {"name": "b", "kind": "continuous", "nomogram_range": [0.0, 20.0]},
        {"name": "c", "kind": "binary", "nomogram_range": [0.0, 1.0]},
    ]
    geometry = build_nomogram(intercept=-2.0, predictors=predictors, coefficients={"a": 1.5, "b": 0.2, "c": -0.8})
    axes = {axis["name"]: axis for axis in geometry["axes"]}
    assert geometry["points_per_logit"] == pytest.approx(100 / 4.0)  # widest: 0.2 x 20 = 4 logits
    assert axes["b"]["ticks"][-1]["points"] == pytest.approx(100)
    assert axes["a"]["ticks"][-1]["points"] == pytest.approx(37.5)
    # A protective factor: its higher value scores 0 (rms's convention).
    assert [t["points"] for t in axes["c"]["ticks"]] == pytest.approx([20.0, 0.0])
    assert geometry["lp_at_zero_points"] == pytest.approx(-2.0 - 0.8)
    for tick in geometry["probability_ticks"]:
        lp = geometry["lp_at_zero_points"] + tick["total_points"] / geometry["points_per_logit"]
        assert _expit(lp) == pytest.approx(tick["probability"])


def test_axes_that_do_not_start_at_zero():
    """Worked by hand; every continuous axis starts above 0, so hi and hi − lo differ.

    Coefficients: β0 = −2; a (binary) 1.5; b on [5, 25] 0.2; c (binary) −0.8; d on [10, 30] −0.1.
      r_a = 1.5·1 = 1.5;  r_b = 0.2·(25 − 5) = 4;  r_c = 0.8·1 = 0.8;  r_d = 0.1·(30 − 10) = 2
      s = 100 / 4 = 25 points per logit unit
      lowest contributions: a min(0, 1.5) = 0; b min(1, 5) = 1; c min(0, −0.8) = −0.8; d min(−1, −3) = −3
      a: 1 → 25·1.5 = 37.5
      b: 5 → 0;  6 → 25·(1.2 − 1) = 5;  24 → 25·(4.8 − 1) = 95;  25 → 25·(5 − 1) = 100
      c: 0 → 25·(0 + 0.8) = 20;  1 → 0
      d: 10 → 25·(−1 + 3) = 50;  12 → 25·(−1.2 + 3) = 45;  30 → 0
      lp at 0 points = −2 + 0 + 1 − 0.8 − 3 = −4.8;  most points = 37.5 + 100 + 20 + 50 = 207.5
      risk 50 % at 25·(0 + 4.8) = 120 points; 0.98 needs 25·(3.892 + 4.8) ≈ 217 > 207.5: no tick.
    """
    predictors = [
        {"name": "a", "kind": "binary", "nomogram_range": [0.0, 1.0]},
        {"name": "b", "kind": "continuous", "nomogram_range": [5.0, 25.0]},
        {"name": "c", "kind": "binary", "nomogram_range": [0.0, 1.0]},
        {"name": "d", "kind": "continuous", "nomogram_range": [10.0, 30.0]},
    ]
    geometry = build_nomogram(
        intercept=-2.0, predictors=predictors, coefficients={"a": 1.5, "b": 0.2, "c": -0.8, "d": -0.1}
    )
    axes = {axis["name"]: axis for axis in geometry["axes"]}
    ticks = {name: {t["value"]: t["points"] for t in axis["ticks"]} for name, axis in axes.items()}
    assert geometry["points_per_logit"] == pytest.approx(25.0, rel=1e-12)
    assert ticks["a"] == pytest.approx({0.0: 0.0, 1.0: 37.5}, abs=1e-9)
    assert [ticks["b"][v] for v in (5.0, 6.0, 24.0, 25.0)] == pytest.approx([0.0, 5.0, 95.0, 100.0], abs=1e-9)
    assert ticks["c"] == pytest.approx({0.0: 20.0, 1.0: 0.0}, abs=1e-9)
    assert [ticks["d"][v] for v in (10.0, 12.0, 30.0)] == pytest.approx([50.0, 45.0, 0.0], abs=1e-9)
    assert [axes[n]["min_contribution"] for n in "abcd"] == pytest.approx([0.0, 1.0, -0.8, -3.0], abs=1e-12)
    # Both ends carry a tick; the inner ones are the 1-2-5 step 2 from the first multiple inside the axis.
    assert list(ticks["b"]) == [5.0, *range(6, 25, 2), 25.0]
    assert list(ticks["d"]) == [10.0, *range(12, 30, 2), 30.0]
    assert geometry["lp_at_zero_points"] == pytest.approx(-4.8, abs=1e-12)
    assert geometry["max_total_points"] == pytest.approx(207.5, abs=1e-9)
    probability_ticks = {t["probability"]: t["total_points"] for t in geometry["probability_ticks"]}
    assert probability_ticks[0.5] == pytest.approx(120.0, abs=1e-9)
    assert 0.01 in probability_ticks and 0.95 in probability_ticks
    assert 0.98 not in probability_ticks and 0.99 not in probability_ticks
