"""Updating advice: `validate` names the update `recalibrate --method auto` makes, with the same tests."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy.stats import chi2

from app.model.artifact import load_artifact
from app.stats.cohort import read_cohort
from app.stats.recalibrate import recalibrated_artifact
from app.stats.validate import validate_artifact
from tests.conftest import DEMO_ARTIFACT
from tests.stats.test_validate import cohort_from_model

LR_TOL = 1e-5  # likelihood-ratio statistics: both sides are MLEs to ~1e-8


def _arrays(path):
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    return data[:, :3], data[:, 3]


def _statsmodels_closed_test(x: np.ndarray, y: np.ndarray) -> list[tuple[float, int, float]]:
    """Vergouwe et al. (2017) by hand with statsmodels: D (refit) against A, B and C in turn, stopping at the
    first non-significant test; (LR χ², df, p) of each test made."""
    coef = load_artifact(DEMO_ARTIFACT).coefficients
    lp = coef["intercept"] + x @ np.array([coef["surface_depression"], coef["ki67_percent"], coef["cga_positive"]])
    binomial = sm.families.Binomial()
    refit = sm.GLM(y, sm.add_constant(x), family=binomial).fit(tol=1e-12).llf
    original = float(np.sum(y * lp - np.logaddexp(0.0, lp)))
    intercept = sm.GLM(y, np.ones((y.size, 1)), family=binomial, offset=lp).fit(tol=1e-12).llf
    logistic = sm.GLM(y, sm.add_constant(lp), family=binomial).fit(tol=1e-12).llf
    tests = []
    for loglik, df in ((original, 4), (intercept, 3), (logistic, 2)):
        statistic = 2 * (refit - loglik)
        tests.append((statistic, df, float(chi2.sf(statistic, df))))
        if tests[-1][2] >= 0.05:
            break
    return tests


@pytest.mark.parametrize(
    ("seed", "n", "shift", "slope"),
    [
        (30, 400, 0.0, 1.0),  # well calibrated: keep the model
        (31, 400, -0.8, 1.0),  # too high on average
        (32, 400, 0.0, 0.62),  # too extreme: the case, slope 0.62 at n = 400
        (33, 1500, 0.3, 0.6),
    ],
)
def test_validate_advises_what_recalibrate_auto_chooses(tmp_path, seed, n, shift, slope):
    path = cohort_from_model(tmp_path, n=n, seed=seed, intercept_shift=shift, slope=slope)
    artifact = load_artifact(DEMO_ARTIFACT)
    advice = validate_artifact(artifact=artifact, cohort=read_cohort(path))["updating"]
    _, notices = recalibrated_artifact(artifact=artifact, cohort=read_cohort(path), method="auto", model_id="local")
    chosen = advice["method"]
    assert any(f"'{chosen}' chosen" in notice or (chosen == "refit" and "refit chosen" in notice) for notice in notices)
    expected = _statsmodels_closed_test(*_arrays(path))
    assert len(advice["tests"]) == len(expected)
    for test, (statistic, df, p) in zip(advice["tests"], expected, strict=True):
        assert test["lr_chi2"] == pytest.approx(statistic, abs=LR_TOL)
        assert test["df"] == df
        assert test["p"] == pytest.approx(p, rel=1e-4, abs=1e-10)
    verdict = next(
        v
        for v in validate_artifact(artifact=artifact, cohort=read_cohort(path))["verdicts"]
        if v["property"] == "updating"
    )
    assert verdict["code"] == f"update_{chosen}"


def test_auc_verdict_compares_with_the_optimism_corrected_development_auc(tmp_path):
    artifact = load_artifact(DEMO_ARTIFACT)
    result = validate_artifact(artifact=artifact, cohort=read_cohort(cohort_from_model(tmp_path, n=400, seed=34)))
    assert result["model"]["development_auc"] == artifact.performance.auc_optimism_corrected
    assert result["model"]["development_auc_kind"] == "optimism-corrected"
    assert artifact.performance.auc_optimism_corrected < artifact.performance.auc


def test_recalibrated_model_drops_the_parents_submodels_and_says_so(tmp_path):
    path = cohort_from_model(tmp_path, n=400, seed=35, intercept_shift=-0.5)
    artifact = load_artifact(DEMO_ARTIFACT)
    assert artifact.submodels  # the shipped model has them
    data, notices = recalibrated_artifact(artifact=artifact, cohort=read_cohort(path), method="intercept", model_id="l")
    assert data["submodels"] == []
    assert any(
        n.startswith("warning: the parent's submodels for unknown findings are not carried over") for n in notices
    )
