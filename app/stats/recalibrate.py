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

from typing import Any

import numpy as np

from app.errors import StatisticalError
from app.model.artifact import ModelArtifact
from app.stats.cohort import Cohort
from app.stats.fit import check_event_counts, coefficient_rows
from app.stats.performance import apparent_performance
from app.stats.train import (
    artifact_body,
    created_at_now,
    predictor_specs,
    software_versions,
    table_as_dicts,
)
from app.stats.updating import candidate_updates, closed_test, closed_test_reason, model_arrays
from app.stats.validate import prepare

METHODS = ("intercept", "logistic", "refit", "auto")


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
    if artifact.submodels:
        # An updated main model with the parent's submodels would answer unknown findings from a model
        # that was never checked on this hospital's patients.
        notices.append(
            "warning: the parent's submodels for unknown findings are not carried over: the updated model asks "
            "for every finding. To answer unknown findings locally, train a model on the local cohort."
        )
    if method == "auto":
        chosen, tests = closed_test(updates, len(names))
        notices.append("auto: " + closed_test_reason(chosen, tests))
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
            # Every cohort this model's coefficients have seen: validating on any of them is not external.
            "ancestor_data_sha256": ancestor_data_digests(artifact),
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


def ancestor_data_digests(artifact: ModelArtifact) -> list[str]:
    """The data digests of `artifact` and of every model it was updated from, oldest first."""
    extra = artifact.provenance.model_extra or {}
    earlier = [d for d in extra.get("ancestor_data_sha256") or [] if isinstance(d, str)]
    own = artifact.provenance.data_sha256
    return [*earlier, *([own] if own and own not in earlier else [])]
