"""`lowess_at` (only the anchors a grid needs) equals reading the whole lowess curve at the grid."""

from __future__ import annotations

import numpy as np
import pytest

from app.stats.smoothers import lowess_at, lowess_fit


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_lowess_at_equals_interpolating_the_whole_curve(seed):
    rng = np.random.default_rng(seed)
    p = np.round(rng.beta(1.5, 4.0, 400), 3)  # ties, a skewed risk distribution
    y = (rng.random(400) < p).astype(float)
    weights = rng.integers(0, 4, 400).astype(float)  # bootstrap-like multiplicities, some zero
    grid = np.linspace(np.quantile(p, 0.01), np.quantile(p, 0.99), 50)
    grid = np.concatenate([[p.min() - 0.01], grid, [p.max() + 0.01]])  # one point beyond each end
    ux, fitted = lowess_fit(p, y * weights, weights=weights, aggregated=True)
    expected = np.interp(grid, ux, fitted, left=np.nan, right=np.nan)
    got = lowess_at(p, y * weights, grid, weights=weights, aggregated=True)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-13)
    assert np.isnan(got[0]) and np.isnan(got[-1])


def test_grid_entirely_outside_the_data_is_all_outside():
    assert np.isnan(lowess_at(np.array([0.2, 0.3, 0.4]), np.array([0.0, 1.0, 1.0]), np.array([0.5, 0.6]))).all()
