"""One finding from a FHIR Bundle of Observations, as a CDS Hooks prefetch delivers it.

Rules (README, "CDS Hooks"), chosen so that what the card shows is what the record says:

- only Observations carrying the configured code count (a search may return others);
- only a settled result counts: status `final`, `amended` or `corrected` (a corrected result replaces
  the report it corrects); `preliminary`, `registered`, `cancelled`, `entered-in-error` and `unknown`
  are skipped, as is an Observation with a `dataAbsentReason` and no value;
- the most recent wins, by `effectiveDateTime` (or `effectiveInstant`, or `effectivePeriod`'s end or
  start), else `issued`; one without any time counts as the oldest; at the same time an `amended` or
  `corrected` result replaces a `final` one, then the later `issued` wins; two equally recent ones
  that still disagree are refused rather than one being picked silently;
- a Ki-67 Quantity with a comparator is a limit, not a measurement: "<" and "<=" are read as the
  calculator reads "<1" (half the limit, said so), ">" and ">=" are for the card to judge
  (a G3 limit makes the findings not applicable, anything else cannot be read as a number);
- an Observation's id is shown in the card only if it is a FHIR id (letters, digits, '-' and '.');
- an Observation about another patient than the hook's `context.patientId` is refused: the card
  must never mix two patients' findings.

Anything malformed raises `ObservationError`, naming where (`prefetch.ki67_percent.entry[2]…`) and
what is wrong, never the patient's values.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
# SNOMED CT qualifier values a report may code a yes/no or positive/negative finding with.
SNOMED_ANSWERS = {"10828004": True, "260385009": False, "373066001": True, "373067005": False}
SNOMED_NAMES = {"10828004": "Positive", "260385009": "Negative", "373066001": "Yes", "373067005": "No"}
SETTLED_STATUSES = frozenset({"final", "amended", "corrected"})
REVISED_STATUSES = frozenset({"amended", "corrected"})  # at the same effective time, these replace a final one
COMPARATORS = frozenset({"<", "<=", ">=", ">"})
# A FHIR id: the card's Markdown shows it, so anything else (brackets, parentheses, spaces) is not shown.
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
# FHIR dateTime/instant: a year, year-month, date, or date and time (a time needs a time zone).
_FHIR_DATETIME = re.compile(
    r"(?P<y>[0-9]{4})(?:-(?P<m>[0-9]{2})(?:-(?P<d>[0-9]{2})"
    r"(?:T(?P<time>[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?)(?P<tz>Z|[+-][0-9]{2}:[0-9]{2}))?)?)?"
)

Kind = Literal["boolean", "percent"]


class ObservationError(ValueError):
    """A Bundle or Observation the service cannot read; `where` is a path into the request."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


@dataclass(frozen=True)
class Reading:
    """The value of one finding as read; `fraction` is the value as recorded when it was a fraction (unit '1')."""

    value: float
    observation_id: str | None
    time: datetime | None
    fraction: float | None = None
    recorded: str | None = None  # the time as the record writes it (shown; `time` is for ordering)
    comparator: str | None = None  # a Quantity's "<", "<=", ">=" or ">": `value` is then a limit, not a measurement
    status: str = "final"
    issued: datetime | None = None


def parse_fhir_time(text: object, where: str) -> datetime:
    """A FHIR dateTime as an aware datetime (a partial date reads as its first moment, UTC)."""
    if not isinstance(text, str) or not (match := _FHIR_DATETIME.fullmatch(text)):
        raise ObservationError(where, "is not a FHIR dateTime (e.g. 2024-03-01 or 2024-03-01T09:30:00+08:00)")
    try:
        if match["time"]:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        return datetime(int(match["y"]), int(match["m"] or 1), int(match["d"] or 1), tzinfo=UTC)
    except ValueError:
        raise ObservationError(where, "is not a valid date") from None


def _time_of(observation: dict[str, Any], where: str) -> tuple[datetime, str] | None:
    """When the finding was observed (or else reported): the instant, and the text as written."""
    for key in ("effectiveDateTime", "effectiveInstant"):
        if key in observation:
            return parse_fhir_time(observation[key], f"{where}.{key}"), observation[key]
    period = observation.get("effectivePeriod")
    if period is not None:
        if not isinstance(period, dict):
            raise ObservationError(f"{where}.effectivePeriod", "must be an object with start and/or end")
        for key in ("end", "start"):
            if key in period:
                return parse_fhir_time(period[key], f"{where}.effectivePeriod.{key}"), period[key]
    if "issued" in observation:
        return parse_fhir_time(observation["issued"], f"{where}.issued"), observation["issued"]
    return None


def _codings(concept: object, where: str) -> list[tuple[object, object]]:
    if not isinstance(concept, dict):
        raise ObservationError(where, "must be a CodeableConcept (an object with 'coding')")
    codings = concept.get("coding", [])
    if not isinstance(codings, list) or not all(isinstance(c, dict) for c in codings):
        raise ObservationError(f"{where}.coding", "must be a list of Coding objects")
    return [(c.get("system"), c.get("code")) for c in codings]


def _has_code(observation: dict[str, Any], code: tuple[str, str], where: str) -> bool:
    if "code" not in observation:
        raise ObservationError(f"{where}.code", "is required (an Observation says what it observed)")
    return code in _codings(observation["code"], f"{where}.code")


def _check_subject(observation: dict[str, Any], patient_id: str, where: str) -> None:
    subject = observation.get("subject")
    if subject is None:
        return
    reference = subject.get("reference") if isinstance(subject, dict) else None
    if not isinstance(reference, str):
        if isinstance(subject, dict) and "reference" not in subject:
            return  # identifier- or display-only: nothing to compare
        raise ObservationError(f"{where}.subject", "must be a Reference with a 'reference' text")
    expected = f"Patient/{patient_id}"
    if reference != expected and not reference.endswith(f"/{expected}"):
        raise ObservationError(
            f"{where}.subject",
            "refers to another patient than context.patientId; findings of two patients are never combined",
        )


def _boolean(observation: dict[str, Any], where: str) -> Reading:
    if "valueBoolean" in observation:
        value = observation["valueBoolean"]
        if not isinstance(value, bool):
            raise ObservationError(f"{where}.valueBoolean", "must be true or false")
        return Reading(float(value), None, None)
    if "valueCodeableConcept" in observation:
        codings = _codings(observation["valueCodeableConcept"], f"{where}.valueCodeableConcept")
        answers = {SNOMED_ANSWERS[str(code)] for system, code in codings if system == SNOMED and code in SNOMED_ANSWERS}
        if len(answers) != 1:
            accepted = ", ".join(f"{code} {name}" for code, name in SNOMED_NAMES.items())
            problem = "holds contradicting answers" if answers else "holds no answer this service reads"
            raise ObservationError(
                f"{where}.valueCodeableConcept", f"{problem}; give one SNOMED CT code of {accepted} ({SNOMED})"
            )
        return Reading(float(answers.pop()), None, None)
    raise ObservationError(where, "needs valueBoolean or valueCodeableConcept (SNOMED CT Positive/Negative/Yes/No)")


def _percent(observation: dict[str, Any], where: str) -> Reading:
    if "valueQuantity" not in observation:
        raise ObservationError(where, "needs valueQuantity in % (UCUM '%') or as a fraction (UCUM '1')")
    quantity = observation["valueQuantity"]
    where = f"{where}.valueQuantity"
    if not isinstance(quantity, dict):
        raise ObservationError(where, "must be a Quantity object")
    value = quantity.get("value")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ObservationError(f"{where}.value", "must be a number")
    system = quantity.get("system")
    if system is not None and system != UCUM:
        raise ObservationError(f"{where}.system", f"must be UCUM ({UCUM}); other unit systems are not read")
    comparator = quantity.get("comparator")
    if comparator is not None and comparator not in COMPARATORS:
        raise ObservationError(f"{where}.comparator", "must be one of <, <=, >=, > (FHIR Quantity)")
    unit = quantity.get("code", quantity.get("unit"))
    if unit == "%":
        if not 0 <= value <= 100:
            raise ObservationError(f"{where}.value", "a Ki-67 index in % must lie from 0 to 100")
        return Reading(float(value), None, None, comparator=comparator)
    if unit == "1":
        if not 0 <= value <= 1:
            raise ObservationError(f"{where}.value", "a Ki-67 index as a fraction (unit '1') must lie from 0 to 1")
        # Rounded so that 0.052 reads as 5.2 %, not 5.200000000000001 %: the link and the page show the same text.
        percent = round(100.0 * value, 10)
        return Reading(percent, None, None, fraction=float(value), comparator=comparator)
    raise ObservationError(f"{where}.code", "must be the UCUM unit '%' or '1' (a fraction)")


def read_finding(bundle: object, *, where: str, code: tuple[str, str], kind: Kind, patient_id: str) -> Reading | None:
    """The finding from the most recent settled Observation with `code`; None when the Bundle holds none."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise ObservationError(where, "must be a FHIR Bundle (resourceType 'Bundle') or null")
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise ObservationError(f"{where}.entry", "must be a list")
    readings: list[Reading] = []
    for index, entry in enumerate(entries):
        at = f"{where}.entry[{index}]"
        if not isinstance(entry, dict):
            raise ObservationError(at, "must be an object with a 'resource'")
        resource = entry.get("resource")
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise ObservationError(f"{at}.resource", "must be a FHIR resource (an object with resourceType)")
        at = f"{at}.resource"
        if resource["resourceType"] != "Observation":
            continue  # e.g. the OperationOutcome a search may add
        status = resource.get("status")
        if not isinstance(status, str):
            raise ObservationError(f"{at}.status", "is required (final, amended, corrected, preliminary, …)")
        if not _has_code(resource, code, at):
            continue
        _check_subject(resource, patient_id, at)
        if status not in SETTLED_STATUSES:
            continue
        if "dataAbsentReason" in resource and not any(key.startswith("value") for key in resource):
            continue
        reading = _boolean(resource, at) if kind == "boolean" else _percent(resource, at)
        identifier = resource.get("id")
        identifier = identifier if isinstance(identifier, str) and FHIR_ID.fullmatch(identifier) else None
        time, recorded = _time_of(resource, at) or (None, None)
        issued = parse_fhir_time(resource["issued"], f"{at}.issued") if "issued" in resource else None
        readings.append(
            Reading(
                reading.value, identifier, time, reading.fraction, recorded=recorded,
                comparator=reading.comparator, status=status, issued=issued,
            )
        )  # fmt: skip
    return _most_recent(readings, where)


def _most_recent(readings: list[Reading], where: str) -> Reading | None:
    if not readings:
        return None
    oldest = datetime.min.replace(tzinfo=UTC)
    latest = max(r.time or oldest for r in readings)
    newest = [r for r in readings if (r.time or oldest) == latest]
    # A correction usually keeps the effective time and changes `issued`: at the same time an amended or
    # corrected result replaces a final one, and the later issued one replaces the earlier.
    rank = max((r.status in REVISED_STATUSES, r.issued or oldest) for r in newest)
    newest = [r for r in newest if (r.status in REVISED_STATUSES, r.issued or oldest) == rank]
    if len({(r.value, r.comparator) for r in newest}) > 1:
        raise ObservationError(
            where, "holds two equally recent final Observations with different values; correct the record"
        )
    return newest[-1]
