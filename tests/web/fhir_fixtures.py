"""Small FHIR resources built in code: Observations, Bundles, CDS Hooks requests.

The codes are the shipped defaults (the project's own code system), written out here rather than
read from the settings, so a changed default shows up as a failing test.
"""

from __future__ import annotations

from typing import Any

SYSTEM = "https://rnet-calculator.example/fhir/CodeSystem/findings"
CODES = {"surface_depression": "surface-depression", "ki67_percent": "ki67-percent", "cga_positive": "cga-positive"}
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
SERVICE = "/cds-services/rnet-non-curative-risk"


def observation(
    finding: str,
    *,
    status: str = "final",
    when: str | None = "2024-03-01T09:00:00+08:00",
    patient: str | None = "p1",
    ident: str | None = None,
    **value: Any,
) -> dict[str, Any]:
    """An Observation of one finding; `value` is its value[x] (e.g. valueBoolean=True)."""
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "status": status,
        "code": {"coding": [{"system": SYSTEM, "code": CODES[finding]}]},
        **value,
    }
    if ident is not None:
        resource["id"] = ident
    if patient is not None:
        resource["subject"] = {"reference": f"Patient/{patient}"}
    if when is not None:
        resource["effectiveDateTime"] = when
    return resource


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


def percent(value: float) -> dict[str, Any]:
    return {"valueQuantity": {"value": value, "unit": "%", "system": UCUM, "code": "%"}}


def fraction(value: float) -> dict[str, Any]:
    return {"valueQuantity": {"value": value, "unit": "1", "system": UCUM, "code": "1"}}


def snomed(code: str) -> dict[str, Any]:
    return {"valueCodeableConcept": {"coding": [{"system": SNOMED, "code": code}]}}


def prefetch_for(
    *, depression: bool | None, ki67: float | None, cga: bool | None, patient: str = "p1"
) -> dict[str, Any]:
    """Prefetch Bundles for one patient: a finding given as None has an empty Bundle (nothing recorded)."""
    return {
        "surface_depression": bundle(
            *(
                []
                if depression is None
                else [observation("surface_depression", patient=patient, valueBoolean=depression)]
            )
        ),
        "ki67_percent": bundle(
            *([] if ki67 is None else [observation("ki67_percent", patient=patient, **percent(ki67))])
        ),
        "cga_positive": bundle(
            *([] if cga is None else [observation("cga_positive", patient=patient, valueBoolean=cga)])
        ),
    }


def hook_request(prefetch: Any = None, *, patient: str = "p1", omit_prefetch: bool = False) -> dict[str, Any]:
    request: dict[str, Any] = {
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "hook": "patient-view",
        "fhirServer": "https://ehr.example.org/fhir",
        "context": {"userId": "Practitioner/dr1", "patientId": patient},
    }
    if not omit_prefetch:
        request["prefetch"] = prefetch
    return request
