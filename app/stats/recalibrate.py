"""Model updating for a new hospital (Steyerberg 2019, ch. 20; Vergouwe et al. 2017).

Methods, from least to most change:
- A  original: no update;
- B  intercept: recalibration in the large, logit P = a + offset(lp);
- C  logistic: logit P = a + b·lp (new intercept, all slopes shrunk by b);
- D  refit: all coefficients re-estimated on the local cohort.
`auto` walks the closed-testing procedure with likelihood-ratio tests at
α = 0.05: D vs A (not significant: keep A), D vs B (take B), D vs C
(take C), else D.

Covariances (so that prediction CIs stay right):
- B: Var(β0 + a) = Var(β0) + Var(a), other entries unchanged — assumes the
  development and local estimates are independent (different patients);
- C: delta method through β0' = a + b·β0, βj' = b·βj with the 2×2
  covariance of (a, b) from the local fit and V from the artifact, again
  assuming independence;
- D: the refit's own inverse information.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.errors import ConvergenceError, StatisticalError
from app.model.artifact import ModelArtifact
from app.stats.batch_logistic import expit, fit_intercept_slope_batch, fit_offset_intercept_batch
from app.stats.cohort import Cohort
from app.stats.fit import check_event_counts, coefficient_rows, fit_logistic
from app.stats.performance import apparent_performance
from app.stats.train import (
    artifact_body,
    created_at_now,
    predictor_specs,
    software_versions,
    table_as_dicts,
)
from app.stats.validate import model_arrays, prepare

METHODS = ("intercept", "logistic", "refit", "auto")
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


def _reason(method: str, tests: list[dict[str, Any]]) -> str:
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


def recalibrated_artifact(
    *, artifact: ModelArtifact, cohort: Cohort, method: str, model_id: str, created_at: str | None = None
) -> tuple[dict[str, Any], list[str]]:
    """The updated artifact's data (without digest) and notices."""
    data = prepare(artifact, cohort)
    check_event_counts(data.y, what=f"the local cohort {cohort.source_name}")
    names, _ = model_arrays(artifact)
    wanted = ("intercept", "logistic", "refit") if method == "auto" else (method,)
    updates = candidate_updates(artifact, data.x, data.y, data.lp, wanted)
    tests: list[dict[str, Any]] = []
    chosen = method
    notices = [f"{cohort.source_name}: {data.selection_note}."]
    if method == "auto":
        chosen, tests = closed_test(updates, len(names))
        notices.append("auto: " + _reason(chosen, tests))
    update = updates[chosen]
    if not np.all(np.isfinite(update.coef)) or not np.all(np.isfinite(update.cov)):
        raise StatisticalError(f"the '{chosen}' update produced non-finite estimates; nothing was written.")
    coefficients = {name: float(v) for name, v in zip(("intercept", *names), update.coef, strict=True)}
    parent_specs = [p.model_dump(mode="json") for p in artifact.predictors]
    if chosen == "refit":
        local_specs = predictor_specs(tuple(names), {n: data.x[:, j] for j, n in enumerate(names)})
        for spec, parent in zip(local_specs, parent_specs, strict=True):
            spec["label"], spec["levels"] = parent["label"], parent["levels"]
        specs = local_specs
    else:
        specs = parent_specs
    lp_new = update.coef[0] + data.x @ update.coef[1:]
    figures, curves = apparent_performance(y=data.y, lp=lp_new)
    performance = {
        **figures,
        "auc_optimism_corrected": None,
        "calibration_slope_optimism_corrected": None,
        "bootstrap_replicates": 0,
        "evaluated_on": "the local cohort used for the update (apparent: not an independent validation)",
    }
    source = "fitted" if chosen == "refit" else artifact.provenance.source
    descriptions = {
        "original": "no update: the original coefficients are kept",
        "intercept": "recalibration in the large (new intercept)",
        "logistic": "logistic recalibration (new intercept and calibration slope)",
        "refit": "full refit of all coefficients on the local cohort",
    }
    updated = artifact_body(
        model_id=model_id,
        title=artifact.title,
        specs=specs,
        coefficients=coefficients,
        covariance=update.cov,
        coefficient_rows_=table_as_dicts(coefficient_rows(["intercept", *names], update.coef, update.cov)),
        performance=performance,
        curves=curves,
        provenance={
            "source": source,
            "created_at": created_at or created_at_now(),
            "data_sha256": cohort.source_sha256,
            "data_file": cohort.source_name,
            "software": software_versions(),
            "notes": f"Updated from {artifact.model_id} by {descriptions[chosen]}. Parent: {artifact.provenance.notes}",
            "reference": (artifact.provenance.model_extra or {}).get("reference", ""),
            "parent_sha256": artifact.sha256,
            "parent_model_id": artifact.model_id,
            "update_method": chosen,
            "update_requested": method,
            "update_tests": tests,
            "local_data_sha256": cohort.source_sha256,
            "covariance_note": {
                "original": "as the parent",
                "intercept": "parent covariance with Var(intercept) + Var(a); development and local estimates assumed independent",
                "logistic": "delta method through (a, b) and the parent covariance, assumed independent",
                "refit": "inverse observed information of the local refit",
            }[chosen],
        },
    )
    return updated, notices
