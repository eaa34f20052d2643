"""Model updating candidates and the closed test that chooses among them (Vergouwe et al. 2017).

Shared by `recalibrate` (which writes the chosen update) and `validate`
(whose advice must name the same method `recalibrate --method auto` would
choose on the same data, with the same p-values).

Candidates, from least to most change: A original; B intercept
(recalibration in the large, logit P = a + offset(lp)); C logistic
(logit P = a + b·lp); D refit.  Closed testing with likelihood-ratio tests
at α = 0.05: D vs A (not significant: keep A), D vs B (take B), D vs C
(take C), else D.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.errors import ConvergenceError
from app.model.artifact import ModelArtifact
from app.stats.batch_logistic import expit, fit_intercept_slope_batch, fit_offset_intercept_batch
from app.stats.fit import fit_logistic


def model_arrays(artifact: ModelArtifact) -> tuple[list[str], np.ndarray]:
    """The artifact's predictor names and coefficients (intercept first)."""
    names = [p.name for p in artifact.predictors]
    coef = np.array([artifact.coefficients[n] for n in ("intercept", *names)])
    return names, coef


ALPHA = 0.05


@dataclass(frozen=True)
class Update:
    method: str  # original | intercept | logistic | refit
    coef: np.ndarray
    cov: np.ndarray
    loglik: float


def _loglik(y: np.ndarray, lp: np.ndarray) -> float:
    return float(np.sum(y * lp - np.logaddexp(0.0, lp)))


def _chi2_sf(statistic: float, df: int) -> float:
    from scipy.stats import chi2

    return float(chi2.sf(max(statistic, 0.0), df))


def candidate_updates(
    artifact: ModelArtifact, x: np.ndarray, y: np.ndarray, lp: np.ndarray, methods: tuple[str, ...]
) -> dict[str, Update]:
    """Fit the requested updates (B intercept, C logistic, D refit) on the local cohort; A is the artifact as it is."""
    names, coef = model_arrays(artifact)
    cov = np.array(artifact.covariance, dtype=float)
    updates = {"original": Update("original", coef, cov, _loglik(y, lp))}
    if "intercept" in methods:
        updates["intercept"] = _intercept_update(coef, cov, y, lp)
    if "logistic" in methods:
        updates["logistic"] = _logistic_update(coef, cov, y, lp)
    if "refit" in methods:
        refit = fit_logistic(x=x, y=y, names=tuple(names))
        updates["refit"] = Update("refit", refit.coef_, refit.cov_, refit.loglik_)
    return updates


def _intercept_update(coef: np.ndarray, cov: np.ndarray, y: np.ndarray, lp: np.ndarray) -> Update:
    a = float(fit_offset_intercept_batch(lp=lp[:, None], events=y)[0])
    if not math.isfinite(a):
        raise ConvergenceError("recalibration in the large did not converge; nothing was written.")
    p = expit(a + lp)
    var_a = 1.0 / float(np.sum(p * (1 - p)))
    cov_b = cov.copy()
    cov_b[0, 0] += var_a
    return Update("intercept", coef + np.eye(coef.size)[0] * a, cov_b, _loglik(y, a + lp))


def _logistic_update(coef: np.ndarray, cov: np.ndarray, y: np.ndarray, lp: np.ndarray) -> Update:
    intercept, slope = fit_intercept_slope_batch(lp=lp[:, None], events=y)
    a2, b = float(intercept[0]), float(slope[0])
    if not (math.isfinite(a2) and math.isfinite(b)):
        raise ConvergenceError("logistic recalibration (intercept and slope) did not converge; nothing was written.")
    p = expit(a2 + b * lp)
    w = p * (1 - p)
    info = np.array([[w.sum(), (w * lp).sum()], [(w * lp).sum(), (w * lp * lp).sum()]])
    cov_ab = np.linalg.inv(info)
    k = coef.size
    # θ = (a, b, β0, β1, …): β0' = a + b·β0, βj' = b·βj.
    jacobian = np.zeros((k, k + 2))
    jacobian[0, 0] = 1.0
    jacobian[:, 1] = coef
    jacobian[:, 2:] = b * np.eye(k)
    theta_cov = np.zeros((k + 2, k + 2))
    theta_cov[:2, :2] = cov_ab
    theta_cov[2:, 2:] = cov
    new_coef = b * coef
    new_coef[0] += a2
    return Update("logistic", new_coef, jacobian @ theta_cov @ jacobian.T, _loglik(y, a2 + b * lp))


def closed_test(updates: dict[str, Update], n_predictors: int) -> tuple[str, list[dict[str, Any]]]:
    """Vergouwe et al. (2017) closed testing; returns the method chosen and the tests that chose it."""
    refit = updates["refit"].loglik
    steps = [("original", n_predictors + 1), ("intercept", n_predictors), ("logistic", n_predictors - 1)]
    tests = []
    for method, df in steps:
        statistic = 2.0 * (refit - updates[method].loglik)
        p_value = _chi2_sf(statistic, df) if df > 0 else 0.0
        tests.append({"refit_vs": method, "lr_chi2": statistic, "df": df, "p": p_value})
        if df > 0 and p_value >= ALPHA:
            return method, tests
    return "refit", tests


def closed_test_reason(method: str, tests: list[dict[str, Any]]) -> str:
    """One sentence on why closed testing chose `method`."""
    last = tests[-1]
    if method == "refit":
        return (
            f"a full refit fits the local cohort significantly better than logistic recalibration "
            f"(LR χ² {last['lr_chi2']:.2f}, df {last['df']}, p = {last['p']:.3g}): refit chosen."
        )
    return (
        f"a full refit is not significantly better than the '{method}' model "
        f"(LR χ² {last['lr_chi2']:.2f}, df {last['df']}, p = {last['p']:.3g} ≥ {ALPHA}): '{method}' chosen "
        "by closed testing (Vergouwe et al. 2017)."
    )
