"""AUC and DeLong's variance against scikit-learn and a direct O(m·k) DeLong."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from app.stats.discrimination import auc_delong, midranks, roc_points, weighted_auc_sorted


def delong_direct(y: np.ndarray, score: np.ndarray) -> tuple[float, float]:
    """DeLong et al. (1988) structural components, straight from the definition."""
    pos, neg = score[y == 1], score[y == 0]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    return float(psi.mean()), float(v10.var(ddof=1) / pos.size + v01.var(ddof=1) / neg.size)


@pytest.mark.parametrize("decimals", [6, 1, 0])  # 0 decimals: many ties
def test_auc_and_delong_variance(decimals):
    rng = np.random.default_rng(decimals)
    y = (rng.random(300) < 0.3).astype(int)
    score = np.round(rng.normal(size=300) + y, decimals)
    result = auc_delong(y=y, score=score)
    auc, variance = delong_direct(y, score)
    assert result.auc == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert result.auc == pytest.approx(auc, abs=1e-12)
    assert result.se**2 == pytest.approx(variance, rel=1e-10)
    assert result.ci95[0] == pytest.approx(auc - 1.959963984540054 * np.sqrt(variance), abs=1e-10)


def test_midranks_average_ties():
    np.testing.assert_array_equal(midranks(np.array([3.0, 1.0, 3.0, 2.0])), [3.5, 1.0, 3.5, 2.0])


def test_roc_points_equal_scikit_learn():
    rng = np.random.default_rng(5)
    y = (rng.random(200) < 0.4).astype(int)
    score = np.round(rng.random(200) + 0.3 * y, 2)
    fpr, tpr, _ = roc_curve(y, score, drop_intermediate=False)
    points = roc_points(y=y, score=score)
    np.testing.assert_allclose(points["fpr"], fpr, atol=1e-12)
    np.testing.assert_allclose(points["tpr"], tpr, atol=1e-12)


def test_weighted_auc_equals_scikit_learn_with_sample_weights():
    rng = np.random.default_rng(9)
    score = np.round(rng.normal(size=(150, 4)), 1)
    y = (rng.random(150) < 0.35).astype(float)
    weights = rng.integers(0, 4, size=(150, 4)).astype(float)
    order = np.argsort(score, axis=0, kind="stable")
    result = weighted_auc_sorted(
        sorted_score=np.take_along_axis(score, order, axis=0),
        sorted_events=np.take_along_axis(weights * y[:, None], order, axis=0),
        sorted_non_events=np.take_along_axis(weights * (1 - y[:, None]), order, axis=0),
    )
    for b in range(4):
        assert result[b] == pytest.approx(roc_auc_score(y, score[:, b], sample_weight=weights[:, b]), abs=1e-12)


def test_auc_interval_is_truncated_to_0_1_as_proc():
    """12 events against 30 non-events, nearly separated: AUC ± z·SE passes 1, and pROC's
    ci.auc cuts the interval at 1 (the lower end stays AUC − z·SE)."""
    y = np.array([0] * 30 + [1] * 12)
    score = np.concatenate([np.linspace(0, 1, 30), np.linspace(0.97, 2, 12)])
    auc, variance = delong_direct(y, score)
    half_width = 1.959963984540054 * np.sqrt(variance)
    assert auc + half_width > 1  # the untruncated interval would pass 1
    result = auc_delong(y=y, score=score)
    assert result.auc == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert result.ci95 == (pytest.approx(auc - half_width, abs=1e-12), 1.0)
