"""Group comparisons against scipy.stats and statsmodels on the same data."""

from __future__ import annotations

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


def test_hodges_lehmann_interval_inverts_the_mann_whitney_test():
    """Shifts inside the CI are not rejected at 5 %, shifts just outside are (normal approximation, no ties)."""
    rng = np.random.default_rng(3)
    x, y = rng.normal(1.0, 1.0, 40), rng.normal(0.0, 1.0, 35)
    _, (lo, hi) = hodges_lehmann(x, y)
    differences = np.sort(np.subtract.outer(x, y).ravel())

    def p_at(shift):
        return stats.mannwhitneyu(
            x - shift, y, alternative="two-sided", method="asymptotic", use_continuity=False
        ).pvalue

    below = differences[np.searchsorted(differences, lo) - 1]
    above = differences[np.searchsorted(differences, hi) + 1]
    assert p_at((lo + differences[np.searchsorted(differences, lo) + 1]) / 2) >= 0.05
    assert p_at((below + lo) / 2 - 1e-12) < 0.05 or p_at(below - 1e-9) < 0.05
    assert p_at((hi + above) / 2) < 0.05 or p_at(above + 1e-9) < 0.05


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


def test_larger_tables_use_a_seeded_monte_carlo_exact_test():
    group = np.repeat([0.0, 1.0], [30, 20])
    values = np.array(["ESD"] * 25 + ["EMR"] * 4 + ["EFR"] * 1 + ["ESD"] * 15 + ["EMR"] * 3 + ["EFR"] * 2, dtype=object)
    row = compare_categorical("resection_method", values, group, binary=False)
    assert row.test.startswith("Freeman–Halton")
    assert 0 < row.p <= 1
    assert compare_categorical("resection_method", values, group, binary=False).p == row.p  # seeded


def test_no_variation_and_empty_groups_are_reported_not_raised():
    group = np.repeat([0.0, 1.0], [10, 10])
    row = compare_continuous("cost_cny", np.full(20, 5.0), group)
    assert row.note == "no variation" and row.p is None
    row = compare_categorical("recurrence", np.zeros(20), group, binary=True)
    assert row.note == "no variation"
    only_small = np.zeros(20)
    row = compare_continuous("age_years", np.arange(20.0), only_small)
    assert "too few" in row.note
