"""FHIR OperationOutcome answers: how the CDS service and the FHIR API say what is wrong.

Built as plain dicts: the serving path does not import a FHIR library (start-up budget); the tests
validate the shape with fhir.resources.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi.responses import JSONResponse

FHIR_JSON = "application/fhir+json"


def operation_outcome(problems: Iterable[tuple[str, str]], *, code: str = "invalid") -> dict[str, Any]:
    """An OperationOutcome with one error issue per (where, message); `where` goes into `expression`."""
    issues = []
    for where, message in problems:
        issue: dict[str, Any] = {
            "severity": "error",
            "code": code,
            "diagnostics": f"{where}: {message}" if where else message,
        }
        if where:
            issue["expression"] = [where]
        issues.append(issue)
    return {"resourceType": "OperationOutcome", "issue": issues}


def outcome_response(
    status: int,
    problems: Iterable[tuple[str, str]],
    *,
    code: str = "invalid",
    media_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        status_code=status, content=operation_outcome(problems, code=code), media_type=media_type, headers=headers
    )


def accepts_fhir(accept: str | None) -> bool:
    """True when the Accept header prefers application/fhir+json to JSON (RFC 9110 quality values).

    FHIR is chosen when it is listed with a non-zero q at least as high as JSON's (application/json, or
    else application/* or */*): a client that ranks JSON first (`application/json, application/fhir+json;
    q=0.1`) gets JSON, the default.
    """
    quality: dict[str, float] = {}
    for part in (accept or "").split(","):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        value = next((p[2:] for p in pieces[1:] if p.lower().startswith("q=")), "1")
        try:
            q = float(value)
        except ValueError:
            continue
        if 0 <= q <= 1:
            quality[media] = max(q, quality.get(media, 0.0))
    fhir = quality.get(FHIR_JSON, 0.0)
    json_q = next((quality[m] for m in ("application/json", "application/*", "*/*") if m in quality), 0.0)
    return fhir > 0 and fhir >= json_q
