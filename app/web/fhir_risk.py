"""The JSON API's answer as a FHIR R4 RiskAssessment (`Accept: application/fhir+json`).

Made from the `RiskPrediction` the JSON answer is made from, so the two can never disagree.  Plain
dicts (no FHIR library on the serving path); tests validate them with fhir.resources (R4B, whose
RiskAssessment is R4's).

Choices (README, "FHIR RiskAssessment"):
- `subject` is required by FHIR but the API receives findings, not a patient: a display-only
  Reference says so.
- The findings go into `basis` as display-only References (there are no Observation ids to point
  at) and, with the caveats, into `note`.
- The 95 % CI is a `valueRange` extension on the prediction (FHIR's `probabilityRange` would replace
  the point estimate) and also `qualitativeRisk.text` for people.
- Outside the population the model applies to, the answer is a RiskAssessment whose prediction has
  the outcome and a `rationale` but no probability (as the JSON answer has `probability: null`);
  a finding the model cannot do without is an OperationOutcome with 422 (as the JSON answer's 422).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.model.predict import Model
from app.web.i18n import STRINGS, format_risk
from app.web.schemas import PatientFindings, RiskPrediction

OUTCOME_TEXT = "non-curative resection (non-R0 or LVI/PNI)"
PROJECT = "https://rnet-calculator.example/fhir"
CI_EXTENSION = f"{PROJECT}/StructureDefinition/probability-ci95"
MODEL_SYSTEM = f"{PROJECT}/CodeSystem/models"


def _finding_lines(findings: PatientFindings) -> list[str]:
    ki67 = "not yet known" if findings.ki67_percent is None else f"{findings.ki67_percent:g} %"
    cga = "not yet known" if findings.cga_positive is None else ("positive" if findings.cga_positive else "negative")
    return [
        f"Surface depression: {'yes' if findings.surface_depression else 'no'}",
        f"Ki-67: {ki67}",
        f"Chromogranin A: {cga}",
    ]


def _labels(names: list[str] | tuple[str, ...]) -> str:
    """Findings as a reader names them ("Ki-67 index"), not as the API's fields ("ki67_percent")."""
    return " and ".join(STRINGS["en"].get(name, name) for name in names)


def _notes(model: Model, answer: RiskPrediction) -> list[str]:
    notes = [f"Model {model.model_id}, SHA-256 {model.sha256}."]
    if answer.missing:
        notes.append(
            f"Estimated without {_labels(answer.missing)} (not yet known), by the model refitted without them."
        )
    if answer.extrapolation:
        notes.append(
            f"Caution: {_labels(answer.extrapolation)} outside the range the model was fitted on (extrapolation)."
        )
    if answer.reason:
        notes.append(answer.reason)
    if answer.notice:
        notes.append(answer.notice)
    return notes


def risk_assessment(
    model: Model, findings: PatientFindings, answer: RiskPrediction, *, now: datetime | None = None
) -> dict[str, Any]:
    """A FHIR R4 RiskAssessment resource (as a dict) for one answer of the JSON API."""
    prediction: dict[str, Any] = {"outcome": {"text": OUTCOME_TEXT}}
    if answer.probability is not None and answer.ci95 is not None:
        lo, hi = answer.ci95
        prediction["probabilityDecimal"] = answer.probability
        prediction["qualitativeRisk"] = {
            "text": f"{format_risk(answer.probability)} (95 % CI {format_risk(lo)} to {format_risk(hi)})"
        }
        prediction["extension"] = [
            {"url": CI_EXTENSION, "valueRange": {"low": {"value": lo, "unit": "1"}, "high": {"value": hi, "unit": "1"}}}
        ]
    else:
        prediction["rationale"] = answer.reason or "No risk is given for these findings."
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return {
        "resourceType": "RiskAssessment",
        "status": "final",
        "subject": {"display": "Not identified: the request carried findings only"},
        "occurrenceDateTime": moment.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "method": {
            "coding": [{"system": MODEL_SYSTEM, "version": model.sha256, "code": model.model_id}],
            "text": f"R-NET non-curative resection logistic model {model.model_id} (SHA-256 {model.sha256})",
        },
        "basis": [{"display": line} for line in _finding_lines(findings)],
        "prediction": [prediction],
        "note": [{"text": text} for text in _notes(model, answer)],
    }
