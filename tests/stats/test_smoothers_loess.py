"""loess(y ~ p) with R's defaults (surface = "interpolate") and the ICI, against R.

Reference values: tests/reference/ici_reference.json, made by
`Rscript tests/reference/make_ici_reference.R` (base R only; R is not needed
to run these tests).  The cohorts' risks p and outcomes y are stored in the
JSON with R's results: fitted values per distinct p, the ICI, the k-d tree's
vertices with the local fit's value and slope at each, and the same fit with
surface = "direct" for contrast.

The tests are meant to fail for each of the plausible slips: a wrong cell
size (fc), a wrong bounding-box margin, another tie rule at the split point,
linear instead of cubic Hermite interpolation, or the exact "direct" fit.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.stats.calibration import integrated_calibration_index
from app.stats.smoothers import (
    _aggregate,
    _bounding_box,
    _kd_tree_vertices,
    _local_quadratic_at,
    _split_position,
    loess_interpolate_fit,
    loess_quadratic_fit,
)

REFERENCE = json.loads(
    (Path(__file__).resolve().parents[2] / "tests" / "reference" / "ici_reference.json").read_text(encoding="utf-8")
)
COHORTS = sorted(REFERENCE["cohorts"])

# --- Tolerances -------------------------------------------------------------
# Fitted values of loess(y ~ p) at the data and the ICI, absolute (contract).
# Observed: ≤ 1e-14 (the same arithmetic up to rounding).
FIT_ATOL = 1e-6
ICI_ATOL = 1e-6
# The local fits at the vertices (value, slope), absolute.  Observed ≤ 1e-13
# (slopes are larger numbers than values).
VERTEX_FIT_ATOL = 1e-9
# Vertices are data values or the box ends, computed by the same IEEE
# operations as R: compared exactly.


def _cohort(name: str) -> tuple[dict, np.ndarray, np.ndarray]:
    ref = REFERENCE["cohorts"][name]
    return ref, np.asarray(ref["p"], dtype=float), np.asarray(ref["y"], dtype=float)


def _vertices(p: np.ndarray, span: float = 0.75, cell: float = 0.2) -> np.ndarray:
    ux, count, _ = _aggregate(p, np.zeros_like(p), None)
    lower, upper = _bounding_box(ux)
    return _kd_tree_vertices(ux, count.astype(np.int64), int(np.floor(p.size * (span * cell))), lower, upper)


def test_reference_cohorts_cover_ties_skew_and_sizes():
    sizes = {REFERENCE["cohorts"][name]["n"] for name in COHORTS}
    assert {50, 213, 1000}.issubset(sizes)
    distinct = {name: len(REFERENCE["cohorts"][name]["x"]) for name in COHORTS}
    assert distinct["n213_ties"] < 213 and distinct["n400_eight_risks"] == 8
    # R warns only where it has to use its pseudoinverse (fewer than three
    # distinct risks with weight in a neighbourhood): that path is checked too.
    warned = {name for name in COHORTS if REFERENCE["cohorts"][name]["warnings"]}
    assert warned == {"n120_dominant_risk"}
    assert any("pseudoinverse" in w for w in REFERENCE["cohorts"]["n120_dominant_risk"]["warnings"])
    # One variant has so small a cell that the tree is limited by R's memory (nvmax = max(200, n)).
    assert any("limited by memory" in w for v in REFERENCE["variants"] for w in v["warnings"])


@pytest.mark.parametrize("name", COHORTS)
def test_interpolate_fit_matches_r_at_the_data(name):
    ref, p, y = _cohort(name)
    x, fitted = loess_interpolate_fit(p, y)
    np.testing.assert_array_equal(x, ref["x"])
    np.testing.assert_allclose(fitted, ref["fitted"], rtol=0, atol=FIT_ATOL)


@pytest.mark.parametrize("name", COHORTS)
def test_ici_matches_r(name):
    ref, p, y = _cohort(name)
    assert integrated_calibration_index(y=y, p=p) == pytest.approx(ref["ici"], abs=ICI_ATOL)


@pytest.mark.parametrize("name", COHORTS)
def test_kd_tree_vertices_match_r(name):
    # Catches a wrong cell size (fc), a wrong box margin and another tie rule.
    ref, p, _ = _cohort(name)
    np.testing.assert_array_equal(_vertices(p), ref["vertices"])


@pytest.mark.parametrize("name", COHORTS)
def test_local_fits_at_the_vertices_match_r(name):
    ref, p, y = _cohort(name)
    ux, count, ysum = _aggregate(p, y, None)
    nf = int(np.floor(p.size * 0.75 + 1e-5))
    fits = np.array([_local_quadratic_at(ux, count, ysum, v, nf, 0.75) for v in ref["vertices"]])
    np.testing.assert_allclose(fits[:, 0], ref["vertex_value"], rtol=0, atol=VERTEX_FIT_ATOL)
    np.testing.assert_allclose(fits[:, 1], ref["vertex_slope"], rtol=0, atol=VERTEX_FIT_ATOL)


@pytest.mark.parametrize(
    "variant", REFERENCE["variants"], ids=lambda v: f"{v['cohort']}-span{v['span']}-cell{v['cell']}"
)
def test_other_span_and_cell_match_r(variant):
    _, p, y = _cohort(variant["cohort"])
    x, fitted = loess_interpolate_fit(p, y, span=variant["span"], cell=variant["cell"])
    np.testing.assert_array_equal(x, variant["x"])
    np.testing.assert_allclose(fitted, variant["fitted"], rtol=0, atol=FIT_ATOL)
    assert _vertices(p, variant["span"], variant["cell"]).size == variant["n_vertices"]


def test_direct_surface_is_not_what_r_loess_fits_by_default():
    """surface = "direct" is several 1000 tolerances away from R's default on the reference cohorts."""
    gaps = {}
    for name in COHORTS:
        ref, p, y = _cohort(name)
        # R's own two surfaces differ ...
        gaps[name] = np.max(np.abs(np.subtract(ref["fitted_direct"], ref["fitted"])))
        # ... and the project's exact fit reproduces "direct", not the default.
        _, direct = loess_quadratic_fit(p, y)
        np.testing.assert_allclose(direct, ref["fitted_direct"], rtol=0, atol=FIT_ATOL)
    assert max(gaps.values()) > 1000 * FIT_ATOL
    assert sum(gap > 10 * FIT_ATOL for gap in gaps.values()) >= 4
    ref = REFERENCE["cohorts"]["n50"]
    assert abs(ref["ici_direct"] - ref["ici"]) > 1000 * ICI_ATOL


def test_bounding_box_widens_the_range_by_half_a_percent_at_each_end():
    lower, upper = _bounding_box(np.array([0.1, 0.3, 0.9]))
    assert lower == 0.1 - 0.005 * 0.8
    assert upper == 0.9 + 0.005 * 0.8


def test_reproduces_a_cubic_exactly():
    # Exact local quadratics give exact values and slopes at the vertices of a
    # quadratic; cubic Hermite interpolation then reproduces it everywhere
    # (linear interpolation between the vertices would not).
    x = np.linspace(0, 1, 200) ** 1.5
    y = 0.2 + 0.5 * x - 0.3 * x**2
    _, fitted = loess_interpolate_fit(x, y)
    np.testing.assert_allclose(fitted, y, rtol=0, atol=1e-12)


def test_multiplicities_equal_the_expanded_data():
    # The k-d tree counts every copy of a tied x, so this checks the counting too.
    rng = np.random.default_rng(11)
    for _ in range(20):
        x = np.round(rng.random(60), 1)
        y = (rng.random(60) < 0.4).astype(float)
        counts = rng.integers(0, 5, 60)
        ux_w, fitted_w = loess_interpolate_fit(x, y, weights=counts)
        ux_e, fitted_e = loess_interpolate_fit(np.repeat(x, counts), np.repeat(y, counts))
        np.testing.assert_array_equal(ux_w, ux_e)
        np.testing.assert_allclose(fitted_w, fitted_e, rtol=0, atol=1e-12)
        events = np.bincount(np.arange(60), weights=y * counts)
        _, fitted_a = loess_interpolate_fit(x, events, weights=counts, aggregated=True)
        np.testing.assert_allclose(fitted_a, fitted_e, rtol=0, atol=1e-12)


def test_fractional_weights_are_refused():
    with pytest.raises(ValueError, match="whole-number"):
        loess_interpolate_fit(np.array([0.1, 0.2, 0.3]), np.array([0.0, 1.0, 0.0]), weights=np.array([1.0, 0.5, 2.0]))


def test_result_is_deterministic_and_independent_of_row_order():
    _, p, y = _cohort("n2000_ties")
    x1, f1 = loess_interpolate_fit(p, y)
    order = np.random.default_rng(5).permutation(p.size)
    x2, f2 = loess_interpolate_fit(p[order], y[order])
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(f1, f2)
    assert integrated_calibration_index(y=y, p=p) == integrated_calibration_index(y=y[order], p=p[order])


def test_zero_width_neighbourhood_gives_the_tied_patients_their_mean():
    # 80 of 100 patients share p = 0.2, a vertex: its 75 nearest points are at
    # distance 0 and R returns NaN there.  Here the neighbourhood is widened to
    # the nearest other risk, so the fit at 0.2 is those patients' event rate.
    p = np.array([0.2] * 80 + list(np.linspace(0.3, 0.6, 20)))
    y = np.array([1] * 15 + [0] * 65 + [1, 0] * 10, dtype=float)
    x, fitted = loess_interpolate_fit(p, y)
    assert np.all(np.isfinite(fitted))
    assert fitted[0] == pytest.approx(15 / 80, abs=1e-12)
    assert np.isfinite(integrated_calibration_index(y=y, p=p))


# --- The split rule against a literal port of the Fortran ------------------------------


def _ehg106(il: int, ir: int, k: int, x: list[float], pi: list[int]) -> None:
    """Floyd & Rivest select, as loessf.f's ehg106 (1-based; pi[0] unused)."""
    lo, hi = il, ir
    while lo < hi:
        t = x[pi[k]]
        i, j = lo, hi
        pi[lo], pi[k] = pi[k], pi[lo]
        if t < x[pi[hi]]:
            pi[lo], pi[hi] = pi[hi], pi[lo]
        while i < j:
            pi[i], pi[j] = pi[j], pi[i]
            i += 1
            j -= 1
            while x[pi[i]] < t:
                i += 1
            while t < x[pi[j]]:
                j -= 1
        if x[pi[lo]] == t:
            pi[lo], pi[j] = pi[j], pi[lo]
        else:
            j += 1
            pi[hi], pi[j] = pi[j], pi[hi]
        if j <= k:
            lo = j + 1
        if k <= j:
            hi = j - 1


def _literal_kd_vertices(values: np.ndarray, fc: int) -> np.ndarray:
    """loessf.f's ehg126 + ehg124 for d = 1, statement by statement, on unsorted data."""
    n = values.size
    x = [0.0, *values.tolist()]
    pi = list(range(n + 1))
    alpha, beta = min(values), max(values)
    mu = 0.005 * max(beta - alpha, 1e-10 * max(abs(alpha), abs(beta)) + 1e-30)
    v = [0.0, alpha - mu, beta + mu]  # 1-based vertices
    nvmax = ncmax = max(200, n)
    lo, hi, c = {1: 1}, {1: n}, {1: (1, 2)}
    nc, p, left, right = 1, 1, 1, n
    while p <= nc:
        leaf = right - left + 1 <= fc or v[c[p][1]] - v[c[p][0]] <= 0.0
        if not leaf:
            leaf = ncmax < nc + 2 or nvmax < len(v) - 1 + 1.0
        m = 0
        if not leaf:
            m = (left + right) // 2
            _ehg106(left, right, m, x, pi)
            offset = 0
            while not (m + offset >= right or m + offset < left):
                if offset < 0:
                    lower, check, upper = left, m + offset, m + offset
                else:
                    lower = check = m + offset + 1
                    upper = right
                _ehg106(lower, upper, check, x, pi)
                if x[pi[m + offset]] == x[pi[m + offset + 1]]:
                    offset = -offset
                    if offset >= 0:
                        offset += 1
                else:
                    m += offset
                    break
            leaf = v[c[p][0]] == x[pi[m]] or v[c[p][1]] == x[pi[m]]
        if not leaf:
            v.append(x[pi[m]])
            new = len(v) - 1
            lo[nc + 1], hi[nc + 1], c[nc + 1] = left, m, (c[p][0], new)
            lo[nc + 2], hi[nc + 2], c[nc + 2] = m + 1, right, (new, c[p][1])
            nc += 2
        p += 1
        if p <= nc:
            left, right = lo[p], hi[p]
    return np.sort(np.asarray(v[1:]))


def test_kd_tree_matches_a_literal_port_of_the_fortran_on_tied_data():
    rng = np.random.default_rng(2024)
    for trial in range(300):
        n = int(rng.integers(2, 150))
        distinct = int(rng.integers(1, 12))
        values = rng.choice(np.round(rng.random(distinct), 3), n, p=rng.dirichlet(np.full(distinct, 0.5)))
        fc = int(rng.integers(0, max(2, n // 3)))
        ux, count, _ = _aggregate(values, np.zeros(n), None)
        lower, upper = _bounding_box(ux)
        ours = _kd_tree_vertices(ux, count.astype(np.int64), fc, lower, upper)
        np.testing.assert_array_equal(ours, _literal_kd_vertices(values, fc), err_msg=f"trial {trial}")


def test_kd_tree_memory_limit_matches_the_fortran():
    # With fc = 0 every cell of distinct values splits until R's workspace
    # (max(200, n) vertices and cells) runs out.
    rng = np.random.default_rng(7)
    for n in (120, 199, 200, 201, 260):
        values = np.round(rng.random(n), 6)
        ux, count, _ = _aggregate(values, np.zeros(n), None)
        lower, upper = _bounding_box(ux)
        for fc in (0, 1, 2):
            ours = _kd_tree_vertices(ux, count.astype(np.int64), fc, lower, upper)
            np.testing.assert_array_equal(ours, _literal_kd_vertices(values, fc), err_msg=f"n={n} fc={fc}")


def test_split_position_tries_the_gaps_in_the_fortran_order():
    # Positions 0..9; value changes after positions 2 and 6; median m = 4.
    # +1 (gap after 5) is tried before −1 (gap after 3); neither is a change,
    # then +2 (after 6): a change, chosen although −2 (after 2) is as near.
    end = np.cumsum([3, 4, 3])
    assert _split_position(end, 0, 9) == 6
    # Changes after 3 and 6: −1 (after 3) comes before +2 (after 6).
    end = np.cumsum([4, 3, 3])
    assert _split_position(end, 0, 9) == 3
    # No change inside: the median stays.
    assert _split_position(np.array([10]), 0, 9) == 4
