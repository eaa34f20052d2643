"""Whatever an EHR sends, the CDS service answers a card (200) or an OperationOutcome (400), never a 5xx.

Two generators: any JSON at all, and requests shaped like real ones whose Observations carry
random statuses, times, units, codes and values (the near misses a real record produces).
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.web.conftest import make_client
from tests.web.fhir_fixtures import CODES, SERVICE, SNOMED, SYSTEM, UCUM

CLIENT = make_client()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
anything = st.one_of(
    st.none(), st.text(max_size=5), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.booleans()
)
times = st.sampled_from(
    ["2024-03-01", "2024", "2024-03", "2024-03-01T09:00:00Z", "2024-03-01T09:00:00+08:00", "bad", ""]
)


@st.composite
def observations(draw, finding: str) -> dict:
    resource: dict = {
        "resourceType": draw(st.sampled_from(["Observation", "Observation", "Patient", 7])),
        "status": draw(st.sampled_from(["final", "amended", "preliminary", "entered-in-error", None, 3])),
        "code": draw(
            st.sampled_from([{"coding": [{"system": SYSTEM, "code": CODES[finding]}]}, {"coding": []}, {}, "x"])
        ),
        "subject": draw(st.sampled_from([{"reference": "Patient/p1"}, {"reference": "Patient/p2"}, {}, None])),
        draw(st.sampled_from(["effectiveDateTime", "issued", "effectiveInstant"])): draw(times),
    }
    value = draw(
        st.one_of(
            st.builds(lambda v: {"valueBoolean": v}, anything),
            st.builds(
                lambda v, unit, system: {"valueQuantity": {"value": v, "code": unit, "system": system}},
                st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-5, 200), anything),
                st.sampled_from(["%", "1", "mg", None]),
                st.sampled_from([UCUM, None, "http://other"]),
            ),
            st.builds(
                lambda code: {"valueCodeableConcept": {"coding": [{"system": SNOMED, "code": code}]}},
                st.sampled_from(["10828004", "260385009", "373066001", "373067005", "1", None]),
            ),
            st.just({"dataAbsentReason": {"text": "not done"}}),
        )
    )
    return {**resource, **value}


@st.composite
def hook_requests(draw) -> dict:
    prefetch = {
        name: draw(
            st.one_of(
                st.none(),
                st.builds(
                    lambda entries: {"resourceType": "Bundle", "entry": [{"resource": r} for r in entries]},
                    st.lists(observations(name), max_size=3),
                ),
                json_values,
            )
        )
        for name in CODES
    }
    return {
        "hookInstance": "x",
        "hook": draw(st.sampled_from(["patient-view", "order-select"])),
        "context": {"patientId": draw(st.sampled_from(["p1", "p1", "", "p 1", 5]))},
        "prefetch": draw(st.one_of(st.just(prefetch), st.none(), json_values)),
    }


def post(body) -> object:
    """Sent as JSON text even when it is null (the client would otherwise send no body at all)."""
    return CLIENT.post(SERVICE, content=json.dumps(body), headers={"content-type": "application/json"})


def check(response) -> None:
    assert response.status_code in (200, 400), response.text
    body = response.json()
    if response.status_code == 200:
        # one card, or none when the record holds none of the findings
        assert len(body["cards"]) <= 1 and all(len(card["summary"]) < 140 for card in body["cards"])
    else:
        assert body["resourceType"] == "OperationOutcome" and body["issue"]


@given(body=json_values)
@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_any_json_gets_a_card_or_an_operation_outcome(body):
    check(post(body))


@given(body=hook_requests())
@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_realistic_requests_get_a_card_or_an_operation_outcome(body):
    check(post(body))
