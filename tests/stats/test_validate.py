"""External validation: figures against statsmodels, behaviour on cohorts simulated from the model."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from app.errors import StatisticalError
from app.model.artifact import load_artifact
from app.stats.cohort import CohortError, read_cohort
from app.stats.discrimination import auc_delong
from app.stats.validate import validate_artifact
from tests.conftest import DEMO_ARTIFACT, write_csv

TOL = 1e-6  # the contract for external-validation figures
HEADER = ["surface_depression", "ki67_percent", "cga_positive", "non_curative_resection"]


def cohort_from_model(
    tmp_path, *, n: int, seed: int, intercept_shift: float = 0.0, slope: float = 1.0, name="local.csv"
):
    """Patients whose outcome follows the demo artifact's own model (optionally miscalibrated)."""
    artifact = load_artifact(DEMO_ARTIFACT)
    c = artifact.coefficients
    rng = np.random.default_rng(seed)
    d = (rng.random(n) < 0.2).astype(int)
    k = np.round(np.clip(rng.lognormal(0.4, 0.9, n), 0.1, 19.0), 1)
    g = (rng.random(n) < 0.65).astype(int)
    lp = c["intercept"] + c["surface_depression"] * d + c["ki67_percent"] * k + c["cga_positive"] * g
    y = (rng.random(n) < 1 / (1 + np.exp(-(intercept_shift + slope * lp)))).astype(int)
    return write_csv(tmp_path / name, HEADER, [list(row) for row in zip(d, k, g, y, strict=True)])


def test_well_calibrated_cohort_shows_slope_one_and_intercept_zero(tmp_path):
    result = validate_artifact(
        artifact=load_artifact(DEMO_ARTIFACT), cohort=read_cohort(cohort_from_model(tmp_path, n=5000, seed=1))
    )
    f = result["figures"]
    assert f["calibration_slope_ci95"][0] <= 1 <= f["calibration_slope_ci95"][1]
    assert f["calibration_in_the_large_ci95"][0] <= 0 <= f["calibration_in_the_large_ci95"][1]
    codes = {v["code"] for v in result["verdicts"]}
    assert {"citl_ok", "slope_ok"} <= codes


def test_shifted_intercept_is_found_and_named(tmp_path):
    result = validate_artifact(
        artifact=load_artifact(DEMO_ARTIFACT),
        cohort=read_cohort(cohort_from_model(tmp_path, n=3000, seed=2, intercept_shift=-1.0)),
    )
    assert result["figures"]["calibration_in_the_large_ci95"][1] < 0
    assert "citl_too_high" in {v["code"] for v in result["verdicts"]}


def test_overfitted_model_is_called_too_extreme(tmp_path):
    result = validate_artifact(
        artifact=load_artifact(DEMO_ARTIFACT),
        cohort=read_cohort(cohort_from_model(tmp_path, n=4000, seed=3, slope=0.5)),
    )
    assert "slope_too_extreme" in {v["code"] for v in result["verdicts"]}


def test_figures_equal_independent_statsmodels_fits(tmp_path):
    path = cohort_from_model(tmp_path, n=800, seed=4, intercept_shift=0.4, slope=0.8)
    artifact = load_artifact(DEMO_ARTIFACT)
    result = validate_artifact(artifact=artifact, cohort=read_cohort(path))
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    c = artifact.coefficients
    lp = c["intercept"] + data[:, :3] @ [c["surface_depression"], c["ki67_percent"], c["cga_positive"]]
    y = data[:, 3]
    offset = sm.GLM(y, np.ones((y.size, 1)), family=sm.families.Binomial(), offset=lp).fit(tol=1e-12)
    slope = sm.GLM(y, sm.add_constant(lp), family=sm.families.Binomial()).fit(tol=1e-12)
    f = result["figures"]
    assert f["calibration_in_the_large"] == pytest.approx(offset.params[0], abs=TOL)
    assert f["calibration_in_the_large_ci95"] == pytest.approx(list(offset.conf_int()[0]), abs=TOL)
    assert f["calibration_slope"] == pytest.approx(slope.params[1], abs=TOL)
    assert f["calibration_slope_ci95"] == pytest.approx(list(slope.conf_int()[1]), abs=TOL)
    assert f["calibration_intercept"] == pytest.approx(slope.params[0], abs=TOL)
    core = auc_delong(y=y, score=lp)
    assert f["auc"] == core.auc and f["auc_ci95"] == list(core.ci95)
    p = 1 / (1 + np.exp(-lp))
    assert f["observed_expected"] == pytest.approx(y.sum() / p.sum(), rel=1e-12)


def test_values_outside_the_fitted_range_are_counted(tmp_path):
    rows = [[1, 45, 1, 1], [0, 2, 0, 0], [0, 1, 1, 0], [1, 30, 0, 1], [0, 3, 1, 1]] * 4 + [
        [0, 2, 1, 0],
        [1, 4, 0, 1],
        [1, 4, 0, 0],
        [0, 2, 1, 1],
    ] * 6
    path = write_csv(tmp_path / "c.csv", HEADER, rows)
    result = validate_artifact(artifact=load_artifact(DEMO_ARTIFACT), cohort=read_cohort(path))
    assert result["cohort"]["outside_fitted_range"]["ki67_percent"] == 8  # the rows with Ki-67 45 and 30
    assert "out_of_range" in {v["code"] for v in result["verdicts"]}


def test_missing_predictor_and_single_outcome_are_clear_errors(tmp_path):
    no_cga = write_csv(
        tmp_path / "a.csv", ["surface_depression", "ki67_percent", "non_curative_resection"], [[1, 2, 1]]
    )
    with pytest.raises(CohortError, match="no column 'cga_positive'"):
        validate_artifact(artifact=load_artifact(DEMO_ARTIFACT), cohort=read_cohort(no_cga))
    no_events = write_csv(tmp_path / "b.csv", HEADER, [[1, 2, 1, 0], [0, 3, 0, 0]])
    with pytest.raises(CohortError, match="coded 1 = non-curative"):
        validate_artifact(artifact=load_artifact(DEMO_ARTIFACT), cohort=read_cohort(no_events))
    few_events = write_csv(tmp_path / "c.csv", HEADER, [[1, 2, 1, 1]] * 3 + [[0, 3, 0, 0]] * 30)
    with pytest.raises(StatisticalError, match="3 event"):
        validate_artifact(artifact=load_artifact(DEMO_ARTIFACT), cohort=read_cohort(few_events))
    same = write_csv(tmp_path / "d.csv", HEADER, [[1, 2, 1, 1]] * 15 + [[1, 2, 1, 0]] * 15)
    with pytest.raises(CohortError, match="same predicted risk"):
        validate_artifact(artifact=load_artifact(DEMO_ARTIFACT), cohort=read_cohort(same))
