"""`lowess_rows_at` (many lowess curves at once) gives each row what `lowess_at` gives it alone.

`lowess_at` itself is checked against R's lowess (tests/stats/test_against_r.py); here the batched
rewrite must agree with it row by row on the cases that break vectorised code: ties within a row,
zero counts (points absent from a resample), rows with one distinct point or no data, grid points
beyond either end and exactly on the data, rows of different lengths in one block, and any number
of threads or block size.
"""

from __future__ import annotations

import numpy as np
import pytest

import app.stats.lowess_rows as lowess_rows
from app.stats.lowess_rows import lowess_rows_at
from app.stats.smoothers import _kth_distance, lowess_at

ATOL = 1e-12  # the same arithmetic in another order: agreement to rounding


def _rows(seed: int, rows: int = 9, points: int = 40) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.beta(1.5, 4.0, (rows, points))
    x[1] = np.round(x[1], 2)  # many ties
    x[2, : points // 2] = x[2, 0]  # half the points tied at one value
    count = rng.integers(0, 4, (rows, points)).astype(float)  # bootstrap multiplicities, some zero
    count[3] = 0.0
    count[3, 5] = 3.0  # one distinct point only
    count[4] = 0.0  # no data at all
    count[5, points // 2 :] = 0.0  # a row with half its points absent
    events = np.minimum(count, rng.integers(0, 3, (rows, points)).astype(float))
    return x, events, count


def _expected(x: np.ndarray, events: np.ndarray, count: np.ndarray, at: np.ndarray) -> np.ndarray:
    out = np.full((x.shape[0], at.size), np.nan)
    for r in range(x.shape[0]):
        if count[r].sum() > 0:
            out[r] = lowess_at(x[r], events[r], at, weights=count[r], aggregated=True)
    return out


@pytest.mark.parametrize("seed", range(6))
def test_each_row_equals_lowess_at_alone(seed):
    x, events, count = _rows(seed)
    at = np.concatenate([[0.0, 1.0], np.linspace(0.02, 0.6, 40), x[0, :3], x[2, :1]])  # ends, data points, ties
    expected = _expected(x, events, count, at)
    got = lowess_rows_at(x, events, count, at)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got, expected, rtol=0, atol=ATOL, equal_nan=True)
    assert np.isnan(got[4]).all()  # no data: nothing inside
    single = x[3, 5]
    assert got[3, at == single].tolist() == [events[3, 5] / 3.0] * int((at == single).sum())


def test_outside_value_and_points_beyond_every_row():
    x, events, count = _rows(11)
    got = lowess_rows_at(x, events, count, np.array([-1.0, 2.0]), outside=-7.0)
    assert (got == -7.0).all()


def test_result_does_not_depend_on_threads_and_block_size_only_to_rounding(monkeypatch):
    """Threads split the same blocks: bit-identical.  Other blocks change BLAS's summation order only."""
    x, events, count = _rows(12, rows=40, points=60)
    at = np.linspace(0.01, 0.7, 50)
    one = lowess_rows_at(x, events, count, at, threads=1)
    two = lowess_rows_at(x, events, count, at, threads=2)
    monkeypatch.setattr(lowess_rows, "_CELLS", 1)  # one row per block
    small_blocks = lowess_rows_at(x, events, count, at, threads=2)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_allclose(one, small_blocks, rtol=0, atol=ATOL)


@pytest.mark.parametrize("seed", range(4))
def test_kth_distance_by_binary_search_equals_the_full_scan(seed):
    """The crossing search finds the same k-th nearest distance as the scan over every run."""
    rng = np.random.default_rng(seed)
    points = 80
    ux = np.unique(np.round(rng.beta(1.2, 3.0, points), 3))
    m = ux.size
    count = rng.integers(1, 5, m).astype(float)
    centres = np.concatenate([ux[::3], [ux[0], ux[-1]]])
    k = np.array([float(int(2 / 3 * count.sum()))])
    expected = _kth_distance(ux, count, centres, k[0])
    got = lowess_rows._kth_distance_rows(ux[None, :], count[None, :], np.array([m]), centres[None, :], k)
    np.testing.assert_array_equal(got[0], expected)
