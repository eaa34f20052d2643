"""External validation: an artifact applied unchanged to another hospital's cohort.

Reports discrimination, the calibration hierarchy (Van Calster 2016: mean,
weak = intercept and slope, moderate = the flexible curve), overall
accuracy, clinical usefulness, and a plain-language verdict per property
that does not claim more than the sample can show.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.errors import StatisticalError
from app.model.artifact import ModelArtifact
from app.stats.batch_logistic import expit
from app.stats.cohort import OUTCOME, Cohort, CohortError
from app.stats.fit import Z_95, check_event_counts
from app.stats.performance import apparent_performance
from app.stats.updating import candidate_updates, closed_test, model_arrays

MODEL_POPULATION_MAX_DIAMETER_MM = 20.0
# Fewer events than this make validation estimates imprecise (Collins, Ogundimu & Altman 2016).
RECOMMENDED_EVENTS = 100
HISTOGRAM_BINS = 20


@dataclass(frozen=True)
class ValidationData:
    """The local cohort as the model sees it."""

    x: np.ndarray
    y: np.ndarray
    lp: np.ndarray
    n_total: int
    selection_note: str
    out_of_range: dict[str, int]


def prepare(artifact: ModelArtifact, cohort: Cohort) -> ValidationData:
    """Complete cases of the model's predictors and the outcome, tumours ≤20 mm; lp from the artifact."""
    names, coef = model_arrays(artifact)
    for name in [*names, OUTCOME]:
        if name not in cohort.columns:
            raise CohortError(
                f"{cohort.source_name} has no column '{name}', which the model needs "
                f"(predictors: {', '.join(names)}; outcome: {OUTCOME})."
            )
    selection = cohort.complete_case([*names, OUTCOME], max_diameter_mm=MODEL_POPULATION_MAX_DIAMETER_MM)
    y = selection.columns[OUTCOME]
    if selection.n == 0:
        raise CohortError(f"{cohort.source_name}: no complete rows remain ({selection.describe()}).")
    events = int(y.sum())
    if events == 0 or events == y.size:
        raise CohortError(
            f"{cohort.source_name}: all {y.size} patients have {OUTCOME} = {int(y[0])}; validation needs both "
            "curative and non-curative resections. Check that the outcome is coded 1 = non-curative resection (non-R0 or LVI/PNI)."
        )
    check_event_counts(y, what=f"the cohort {cohort.source_name}")
    x = np.column_stack([selection.columns[n] for n in names])
    if np.ptp(coef[0] + x @ coef[1:]) == 0:
        raise CohortError(
            f"{cohort.source_name}: every patient has the same findings, hence the same predicted risk; "
            "discrimination and calibration cannot be assessed."
        )
    out_of_range = {}
    for j, spec in enumerate(artifact.predictors):
        lo, hi = spec.fitted_range or spec.allowed_range
        out_of_range[spec.name] = int(np.sum((x[:, j] < lo) | (x[:, j] > hi)))
    return ValidationData(
        x=x,
        y=y,
        lp=coef[0] + x @ coef[1:],
        n_total=selection.n_total,
        selection_note=selection.describe(),
        out_of_range=out_of_range,
    )


def _verdicts(
    figures: dict[str, Any], development_auc: float | None, events: int, non_events: int, out_of_range: dict[str, int]
) -> list[dict[str, Any]]:
    """One finding per property, as a code and its numbers, stating only what the CIs support.

    The words (English or Chinese) are chosen by the report (app/web/i18n.py: "verdict_<code>").
    """
    verdicts: list[dict[str, Any]] = []
    smallest = min(events, non_events)
    if smallest < RECOMMENDED_EVENTS:
        verdicts.append(
            {
                "property": "sample_size",
                "code": "sample_small",
                "values": {"smallest": smallest, "recommended": RECOMMENDED_EVENTS},
            }
        )
    lo, hi = figures["auc_ci95"]
    values = {"auc": figures["auc"], "lo": lo, "hi": hi, "dev": development_auc}
    if development_auc is None:
        code = "auc_no_development"
    elif hi < development_auc:
        code = "auc_lower"
    else:
        code = "auc_consistent"
    verdicts.append({"property": "discrimination", "code": code, "values": values})
    if hi < 0.7:
        verdicts.append({"property": "discrimination", "code": "auc_poor", "values": values})
    a_lo, a_hi = figures["calibration_in_the_large_ci95"]
    values = {"a": figures["calibration_in_the_large"], "lo": a_lo, "hi": a_hi, "oe": figures["observed_expected"]}
    code = "citl_too_high" if a_hi < 0 else "citl_too_low" if a_lo > 0 else "citl_ok"
    verdicts.append({"property": "calibration_in_the_large", "code": code, "values": values})
    b_lo, b_hi = figures["calibration_slope_ci95"]
    values = {"b": figures["calibration_slope"], "lo": b_lo, "hi": b_hi}
    if b_hi < 1:
        code = "slope_too_extreme"
    elif b_lo > 1:
        code = "slope_too_moderate"
    else:
        code = "slope_ok_wide" if b_hi - b_lo > 1.0 else "slope_ok"
    verdicts.append({"property": "calibration_slope", "code": code, "values": values})
    verdicts.append(
        {
            "property": "calibration_curve",
            "code": "curve_errors",
            "values": {"e_avg": 100 * figures["e_avg"], "e_90": 100 * figures["e_90"], "e_max": 100 * figures["e_max"]},
        }
    )
    outside = {k: v for k, v in out_of_range.items() if v}
    if outside:
        verdicts.append(
            {
                "property": "case_mix",
                "code": "out_of_range",
                "values": {"list": ", ".join(f"{k} {v}" for k, v in outside.items())},
            }
        )
    return verdicts


def updating_advice(artifact: ModelArtifact, data: ValidationData) -> dict[str, Any]:
    """The update `recalibrate --method auto` would choose on these data, with its closed-test p-values.

    One procedure for both commands, so that the report never advises one update while
    `recalibrate` makes another.  When a refit is impossible here (separation or collinearity in
    the local cohort), closed testing cannot run and the advice says so.
    """
    try:
        updates = candidate_updates(artifact, data.x, data.y, data.lp, methods=("intercept", "logistic", "refit"))
    except StatisticalError as exc:
        return {"method": None, "tests": [], "reason": str(exc)}
    method, tests = closed_test(updates, len(artifact.predictors))
    return {"method": method, "tests": tests, "reason": None}


def _updating_verdict(updating: dict[str, Any]) -> dict[str, Any]:
    if updating["method"] is None:
        return {"property": "updating", "code": "update_unknown", "values": {"reason": updating["reason"]}}
    last = updating["tests"][-1]
    values = {"lr_chi2": last["lr_chi2"], "df": last["df"], "p": last["p"]}
    return {"property": "updating", "code": f"update_{updating['method']}", "values": values}


def validate_artifact(*, artifact: ModelArtifact, cohort: Cohort) -> dict[str, Any]:
    """All figures, curves and verdicts of an external validation, ready for JSON and the report."""
    data = prepare(artifact, cohort)
    y, lp = data.y, data.lp
    p = expit(lp)
    figures, curves = apparent_performance(y=y, lp=lp)
    events = figures["events"]
    oe = figures["observed_expected"]
    # ln(O/E) ± z·√(1/O − 1/N): O is binomial, not Poisson (Debray et al., BMJ 2017).
    oe_half_width = Z_95 * math.sqrt(1.0 / events - 1.0 / figures["n"])
    figures["observed_expected_ci95"] = [oe * math.exp(-oe_half_width), oe * math.exp(oe_half_width)]
    figures["mean_predicted_risk"] = float(p.mean())
    edges = np.linspace(0.0, 1.0, HISTOGRAM_BINS + 1)
    curves["calibration"]["histogram"] = {
        "edges": edges.tolist(),
        "events": np.histogram(p[y == 1], bins=edges)[0].tolist(),
        "non_events": np.histogram(p[y == 0], bins=edges)[0].tolist(),
        "counts": np.histogram(p, bins=edges)[0].tolist(),
    }
    # The development AUC a new cohort should reach is the optimism-corrected one: the apparent AUC is
    # flattered by fitting and testing on the same patients.
    development_auc = artifact.performance.auc_optimism_corrected or artifact.performance.auc
    updating = updating_advice(artifact, data)
    return {
        "model": {
            "id": artifact.model_id,
            "sha256": artifact.sha256,
            "source": artifact.provenance.source,
            "development_auc": development_auc,
            "development_auc_kind": "optimism-corrected"
            if artifact.performance.auc_optimism_corrected is not None
            else "apparent",
            "development_n": artifact.performance.n,
        },
        "cohort": {
            "file": cohort.source_name,
            "sha256": cohort.source_sha256,
            "rows_in_file": data.n_total,
            "selection": data.selection_note,
            "outside_fitted_range": data.out_of_range,
            "notices": cohort.notices(),
        },
        "figures": figures,
        "curves": curves,
        "updating": updating,
        "verdicts": _verdicts(figures, development_auc, events, int(y.size) - events, data.out_of_range)
        + [_updating_verdict(updating)],
    }


def recorded_validation(
    artifact_json: dict[str, Any], *, artifact: ModelArtifact, cohort: Cohort, cohort_name: str, figures: dict[str, Any]
) -> dict[str, Any]:
    """The artifact, unchanged but for one more entry in provenance.external_validations (digest to be restamped).

    The calculator's evidence block then says "externally validated on <cohort> (n, AUC)".  Refused when
    the cohort is the very file the model, or any model it was updated from, was fitted or updated on: that
    is not an external validation.  The check compares file digests (a re-saved copy is not recognised).
    """
    name = " ".join(cohort_name.split())
    if not 0 < len(name) <= 200:
        raise StatisticalError("--cohort-name must be 1 to 200 characters: the name the pages will show.")
    seen = {
        artifact.provenance.data_sha256,
        *((artifact.provenance.model_extra or {}).get("ancestor_data_sha256") or []),
    }
    if cohort.source_sha256 in seen:
        raise StatisticalError(
            f"{cohort.source_name} is the cohort model {artifact.model_id} was fitted (or updated) on; "
            "validating on it is not an external validation, so nothing is recorded."
        )
    data = {key: value for key, value in artifact_json.items() if key != "sha256"}
    provenance = dict(data["provenance"])
    records = list(provenance.get("external_validations") or [])
    records.append({"cohort": name, "n": int(figures["n"]), "auc": figures["auc"]})
    provenance["external_validations"] = records
    data["provenance"] = provenance
    return data
