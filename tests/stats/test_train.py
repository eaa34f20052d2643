"""`train_artifact`: the model's population, the fit, and the optimism-corrected figures it reports.

References: statsmodels' Logit on the rows that should be used, scikit-learn's
AUC and Brier score, and the plain bootstrap loop of tests/stats/test_bootstrap.py
(same resamples as the code, every index computed by another library).
"""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from sklearn.metrics import brier_score_loss, roc_auc_score

from app.stats.cohort import read_cohort
from app.stats.train import predictor_specs, train_artifact
from tests.conftest import simulated_xy, write_csv
from tests.stats.test_bootstrap import naive_optimism

PREDICTORS = ("surface_depression", "ki67_percent", "cga_positive")
HEADER = ["patient_id", *PREDICTORS, "tumor_diameter_mm", "non_curative_resection"]
# Coefficients and covariance against statsmodels, relative (both converged MLEs; the artifact may
# later be rounded to 8 significant digits, far inside this).
COEF_RTOL = 1e-6
# Optimism-corrected figures against the plain loop, absolute (see test_bootstrap.TOL).
OPTIMISM_ATOL = 1e-7


def cohort_rows(n: int, seed: int) -> tuple[list[list[object]], np.ndarray, np.ndarray]:
    """n patients of ≤20 mm (some exactly 20 mm, inside the population) as CSV rows, with their x and y."""
    x, y = simulated_xy(n, seed)
    diameter = np.round(np.random.default_rng(seed + 1).uniform(2, 20, n), 1)
    diameter[::10] = 20.0
    rows = [[f"P{i}", int(x[i, 0]), x[i, 1], int(x[i, 2]), diameter[i], int(y[i])] for i in range(n)]
    return rows, x, y


def test_tumours_over_20_mm_are_left_out_of_the_model(tmp_path):
    rows, x, y = cohort_rows(150, 3)
    # Twelve large tumours that would pull the fit if they were counted: all non-curative, no
    # depression, CgA negative, Ki-67 1 %.
    large = [[f"L{i}", 0, 1.0, 0, 20.5 + i, 1] for i in range(12)]
    path = write_csv(tmp_path / "c.csv", HEADER, rows[:75] + large + rows[75:])
    artifact, notices = train_artifact(
        cohort=read_cohort(path),
        predictors=PREDICTORS,
        bootstrap=0,
        seed=1,
        model_id="m",
        created_at="2026-01-01T00:00:00Z",
    )
    reference = sm.Logit(y, sm.add_constant(x)).fit(disp=0, tol=1e-12, method="newton")
    coefficients = [artifact["coefficients"][name] for name in ("intercept", *PREDICTORS)]
    np.testing.assert_allclose(coefficients, reference.params, rtol=COEF_RTOL)
    np.testing.assert_allclose(artifact["covariance"], reference.cov_params(), rtol=COEF_RTOL)
    assert artifact["performance"]["n"] == 150 and artifact["performance"]["events"] == int(y.sum())
    assert artifact["provenance"]["selection"] == {
        "rows_in_file": 162,
        "rows_used": 150,
        "missing_by_column": dict.fromkeys([*PREDICTORS, "non_curative_resection"], 0),
        "excluded": {"tumour diameter over 20 mm": 12},
    }
    assert notices[0] == "c.csv: 150 of 162 rows used; left out: 12 tumour diameter over 20 mm."
    assert not any("tumour diameter" in notice for notice in notices[1:])  # the rest: information (own tests)


def test_optimism_corrected_figures_follow_the_plain_bootstrap(tmp_path):
    """Each corrected figure is its own apparent value minus its own optimism (Harrell): the slope's
    apparent value is 1, the intercept's and CITL's 0, the AUC and Brier score those of the fit."""
    rows, x, y = cohort_rows(140, 11)
    path = write_csv(tmp_path / "c.csv", HEADER, rows)
    artifact, _ = train_artifact(
        cohort=read_cohort(path),
        predictors=PREDICTORS,
        bootstrap=30,
        seed=4,
        model_id="m",
        created_at="2026-01-01T00:00:00Z",
    )
    performance = artifact["performance"]
    optimism = naive_optimism(x, y, 30, 4)
    reference = sm.Logit(y, sm.add_constant(x)).fit(disp=0, tol=1e-12, method="newton")
    lp = sm.add_constant(x) @ reference.params
    auc, brier = roc_auc_score(y, lp), brier_score_loss(y, 1 / (1 + np.exp(-lp)))
    assert performance["auc"] == pytest.approx(auc, abs=1e-9)
    assert performance["brier"] == pytest.approx(brier, abs=1e-9)
    expected = {
        "auc_optimism_corrected": auc - optimism["auc"],
        "calibration_slope_optimism_corrected": 1.0 - optimism["calibration_slope"],
        "calibration_intercept_optimism_corrected": 0.0 - optimism["calibration_intercept"],
        "calibration_in_the_large_optimism_corrected": 0.0 - optimism["citl"],
        "brier_optimism_corrected": brier - optimism["brier"],
    }
    assert {key: performance[key] for key in expected} == pytest.approx(expected, abs=OPTIMISM_ATOL)
    assert performance["optimism"] == pytest.approx(optimism, abs=OPTIMISM_ATOL)
    assert (performance["bootstrap_replicates"], performance["bootstrap_replicates_used"]) == (30, 30)
    assert performance["bootstrap_seed"] == 4
    # The corrected slope and intercept differ here, so one filled from the other cannot pass.
    assert (
        abs(expected["calibration_slope_optimism_corrected"] - expected["calibration_intercept_optimism_corrected"])
        > 0.5
    )


def test_predictor_axes_follow_the_data():
    """Ki-67 up to 12.4 %: fitted range [0.3, 12.4]; the axis starts at 0 and ends at the next
    multiple of 5 above 10, 15.  Binary predictors: [0, 1] everywhere."""
    columns = {"ki67_percent": np.array([0.3, 4.0, 12.4]), "surface_depression": np.array([0.0, 1.0, 1.0])}
    specs = {spec["name"]: spec for spec in predictor_specs(("surface_depression", "ki67_percent"), columns)}
    assert specs["ki67_percent"]["fitted_range"] == [0.3, 12.4]
    assert specs["ki67_percent"]["nomogram_range"] == [0.0, 15.0]
    assert specs["ki67_percent"]["allowed_range"] == [0.0, 100.0]
    assert specs["surface_depression"]["fitted_range"] == [0.0, 1.0]
    assert specs["surface_depression"]["nomogram_range"] == [0.0, 1.0]
