"""Group comparisons against scipy.stats and statsmodels on the same data."""

from __future__ import annotations

import itertools
import math
from math import comb

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep

from app.stats.compare import compare_categorical, compare_continuous, hodges_lehmann, newcombe_difference

TOL = 1e-10


def test_welch_t_when_both_groups_look_normal():
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.normal(50, 10, 120), rng.normal(53, 12, 80)])
    group = np.repeat([0.0, 1.0], [120, 80])
    row = compare_continuous("age_years", values, group)
    reference = stats.ttest_ind(values[80 * 0 + 120 :], values[:120], equal_var=False)
    assert row.test == "Welch t-test"
    assert row.p == pytest.approx(reference.pvalue, abs=TOL)
    assert row.effect_ci95 == pytest.approx(tuple(reference.confidence_interval()), abs=TOL)
    assert row.summaries["small"]["n"] == 120 and row.summaries["large"]["n"] == 80


def test_mann_whitney_and_hodges_lehmann_for_skewed_data():
    rng = np.random.default_rng(2)
    values = np.round(np.concatenate([rng.lognormal(0.5, 0.9, 90), rng.lognormal(0.9, 0.9, 60)]), 1)
    group = np.repeat([0.0, 1.0], [90, 60])
    row = compare_continuous("ki67_percent", values, group)
    a, b = values[:90], values[90:]
    assert row.test == "Mann–Whitney U"
    assert row.p == pytest.approx(stats.mannwhitneyu(b, a, alternative="two-sided").pvalue, abs=TOL)
    assert row.effect_value == pytest.approx(np.median(np.subtract.outer(b, a)))


def test_hodges_lehmann_worked_by_hand():
    """m = 6, n = 5: all 30 differences x − y written out, no two equal.

    x \\ y     6    8    9   16   19
      5      −1   −3   −4  −11  −14
     10       4    2    1   −6   −9
     25      19   17   16    9    6
     40      34   32   31   24   21
     44      38   36   35   28   25
     58      52   50   49   42   39
    sorted, 1st to 30th: −14 −11 −9 −6 −4 −3 −1 1 2 4 | 6 9 16 17 19 21 24 25 28 31 | 32 34 35 36 38 39 42 49 50 52
    Shift = median = mean of the 15th and 16th = (19 + 21)/2 = 20.
    CI by inverting the two-sided Mann–Whitney test (normal approximation, no continuity correction):
    for a shift δ between the r-th and (r+1)-th smallest difference, U(δ) = #{x − y > δ} = 30 − r, and
    δ is kept when |U − mn/2| ≤ z·√(mn(m + n + 1)/12) = 1.959964·√30 = 10.735, i.e. 4.265 ≤ r ≤ 25.735,
    r = 5…25: the CI runs from the 5th smallest difference (−4) to the 26th, the 5th largest (39).
    """
    x = np.array([5.0, 10, 25, 40, 44, 58])
    y = np.array([6.0, 8, 9, 16, 19])
    shift, (lo, hi) = hodges_lehmann(x, y, exact=False, correct=False)  # R would use the exact branch here
    assert shift == 20.0
    assert (lo, hi) == (-4.0, 39.0)

    def p_at(delta: float) -> float:
        return stats.mannwhitneyu(x - delta, y, method="asymptotic", use_continuity=False).pvalue

    # The same ends by scipy's test: kept just inside each end, rejected just outside.
    assert p_at(-3.5) >= 0.05 and p_at(38.5) >= 0.05
    assert p_at(-5.0) < 0.05 and p_at(40.0) < 0.05


@pytest.mark.parametrize(("m", "n", "seed"), [(6, 5, 1), (8, 5, 2), (40, 35, 3)])
def test_hodges_lehmann_interval_is_the_set_of_shifts_the_test_keeps(m, n, seed):
    """Between two neighbouring differences U(δ) is constant, so scipy's test (asymptotic, no
    continuity correction) at each midpoint decides that whole gap; the CI runs from the difference
    that opens the first kept gap to the one that closes the last.  For 8 and 5 patients
    mn/2 − z·√(mn(m + n + 1)/12) = 6.61: the rounding of that bound shows here."""
    rng = np.random.default_rng(seed)
    x, y = rng.normal(1.0, 1.0, m), rng.normal(0.0, 1.0, n)
    differences = np.sort(np.subtract.outer(x, y).ravel())
    assert np.all(np.diff(differences) > 0)  # no ties, so every gap is an interval of shifts
    midpoints = (differences[:-1] + differences[1:]) / 2
    kept = np.flatnonzero(
        [
            stats.mannwhitneyu(x - delta, y, method="asymptotic", use_continuity=False).pvalue >= 0.05
            for delta in midpoints
        ]
    )
    _, (lo, hi) = hodges_lehmann(x, y, exact=False, correct=False)
    assert (lo, hi) == (differences[kept[0]], differences[kept[-1] + 1])


def test_chi_square_and_fisher_are_chosen_by_expected_counts():
    group = np.repeat([0.0, 1.0], [100, 60])
    common = np.concatenate([np.repeat([1.0, 0.0], [30, 70]), np.repeat([1.0, 0.0], [25, 35])])
    row = compare_categorical("cga_positive", common, group, binary=True)
    table = np.array([[70, 30], [35, 25]])
    assert row.test == "Pearson χ²"
    assert row.p == pytest.approx(stats.chi2_contingency(table, correction=False).pvalue, abs=TOL)
    rare = np.concatenate([np.repeat([1.0, 0.0], [2, 98]), np.repeat([1.0, 0.0], [4, 56])])
    row = compare_categorical("postop_bleeding", rare, group, binary=True)
    assert row.test == "Fisher's exact test"
    assert row.p == pytest.approx(stats.fisher_exact(np.array([[98, 2], [56, 4]])).pvalue, abs=TOL)
    lo, hi = confint_proportions_2indep(4, 60, 2, 100, method="newcomb", compare="diff")
    assert row.effect_ci95 == pytest.approx((lo, hi), abs=TOL)
    assert row.summaries["large"]["counts"]["1"] == 4


def test_newcombe_equals_statsmodels():
    d, (lo, hi) = newcombe_difference(events1=56, n1=70, events2=48, n2=80)
    ref = confint_proportions_2indep(56, 70, 48, 80, method="newcomb", compare="diff")
    assert d == pytest.approx(0.2)
    assert (lo, hi) == pytest.approx(ref, abs=TOL)


def freeman_halton_exact(table: np.ndarray) -> float:
    """Exact Freeman–Halton p for a 2×c table: the hypergeometric probability of every table with the
    observed margins, summed over those no more probable than the observed one."""
    rows, cols = table.sum(axis=1), table.sum(axis=0)
    denominator = comb(int(table.sum()), int(rows[0]))

    def probability(first_row: tuple[int, ...]) -> float:
        return math.prod(comb(int(c), k) for c, k in zip(cols, first_row, strict=True)) / denominator

    observed = probability(tuple(int(v) for v in table[0]))
    total = 0.0
    for first_row in itertools.product(*(range(int(c) + 1) for c in cols)):
        if sum(first_row) == rows[0]:
            p = probability(first_row)
            total += p if p <= observed * (1 + 1e-7) else 0.0
    return total


def test_larger_tables_use_a_seeded_monte_carlo_exact_test(monkeypatch):
    monkeypatch.setattr("app.stats.compare.EXACT_MAX_TABLES", 0)  # this table is small enough to be exact
    group = np.repeat([0.0, 1.0], [30, 20])
    values = np.array(["ESD"] * 25 + ["EMR"] * 4 + ["EFR"] * 1 + ["ESD"] * 15 + ["EMR"] * 3 + ["EFR"] * 2, dtype=object)
    row = compare_categorical("resection_method", values, group, binary=False)
    assert row.test == "Freeman–Halton (Monte Carlo, 20,000 tables)"
    # Exact p by enumeration of the 2×3 tables (ESD, EMR, EFR) is 0.74136; 20,000 Monte Carlo tables
    # have a standard error of √(0.74·0.26/20000) = 0.0031, and the bound is 4 of those.
    exact = freeman_halton_exact(np.array([[25, 4, 1], [15, 3, 2]]))
    assert exact == pytest.approx(0.7413576, abs=1e-6)
    assert row.p == pytest.approx(exact, abs=4 * 0.0031)
    assert compare_categorical("resection_method", values, group, binary=False).p == row.p  # seeded
    assert row.levels == ["EFR", "EMR", "ESD"]
    assert row.summaries["small"] == {"n": 30, "counts": {"EFR": 1, "EMR": 4, "ESD": 25}}
    assert row.summaries["large"] == {"n": 20, "counts": {"EFR": 2, "EMR": 3, "ESD": 15}}
    assert row.effect_ci95 is None  # no single effect for a three-level variable


def test_no_variation_and_empty_groups_are_reported_not_raised():
    group = np.repeat([0.0, 1.0], [10, 10])
    row = compare_continuous("cost_cny", np.full(20, 5.0), group)
    assert row.note == "no variation" and row.p is None
    row = compare_categorical("recurrence", np.zeros(20), group, binary=True)
    assert row.note == "no variation"
    only_small = np.zeros(20)
    row = compare_continuous("age_years", np.arange(20.0), only_small)
    assert row.note == "too few values in a group to compare" and row.p is None
