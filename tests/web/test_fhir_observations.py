"""Reading one finding from a Bundle of Observations: every value form, which Observation counts, what is refused."""

from __future__ import annotations

import pytest

from app.web.fhir_observations import ObservationError, read_finding
from tests.web.fhir_fixtures import CODES, SNOMED, SYSTEM, UCUM, bundle, fraction, observation, percent, snomed

KINDS = {"surface_depression": "boolean", "ki67_percent": "percent", "cga_positive": "boolean"}


def read(finding: str, *resources, patient: str = "p1"):
    return read_finding(
        bundle(*resources),
        where=f"prefetch.{finding}",
        code=(SYSTEM, CODES[finding]),
        kind=KINDS[finding],  # type: ignore[arg-type]
        patient_id=patient,
    )


@pytest.mark.parametrize("finding", ["surface_depression", "cga_positive"])
@pytest.mark.parametrize(("value", "expected"), [(True, 1.0), (False, 0.0)])
def test_value_boolean(finding, value, expected):
    assert read(finding, observation(finding, valueBoolean=value)).value == expected


@pytest.mark.parametrize("finding", ["surface_depression", "cga_positive"])
@pytest.mark.parametrize(
    ("code", "expected"),
    [("10828004", 1.0), ("260385009", 0.0), ("373066001", 1.0), ("373067005", 0.0)],  # Positive, Negative, Yes, No
)
def test_each_snomed_answer(finding, code, expected):
    assert read(finding, observation(finding, **snomed(code))).value == expected


def test_a_snomed_answer_among_other_codings_is_found():
    concept = {
        "coding": [{"system": "https://his.example/local", "code": "POS"}, {"system": SNOMED, "code": "10828004"}]
    }
    assert read("cga_positive", observation("cga_positive", valueCodeableConcept=concept)).value == 1.0


def test_ki67_in_percent_is_read_as_is():
    reading = read("ki67_percent", observation("ki67_percent", **percent(7.5)))
    assert (reading.value, reading.fraction) == (7.5, None)


def test_ki67_as_a_fraction_is_converted_and_says_so():
    reading = read("ki67_percent", observation("ki67_percent", **fraction(0.052)))
    assert reading.value == 5.2  # 0.052 × 100, without float noise (5.200000000000001)
    assert reading.fraction == 0.052


def test_a_quantity_with_only_a_unit_text_is_read():
    quantity = {"valueQuantity": {"value": 3, "unit": "%"}}
    assert read("ki67_percent", observation("ki67_percent", **quantity)).value == 3.0


def test_the_most_recent_final_observation_wins_and_unsettled_ones_are_ignored():
    resources = [
        observation("ki67_percent", when="2024-06-01", **percent(8)),
        observation("ki67_percent", when="2024-01-01", **percent(3)),  # older, listed later
        observation("ki67_percent", when="2024-09-01", status="preliminary", **percent(15)),
    ]
    reading = read("ki67_percent", *resources)
    assert (reading.value, reading.recorded) == (8, "2024-06-01")  # the time shown as the record writes it


def test_times_are_compared_as_instants_not_as_text():
    # 08:00 in Beijing is 00:00 UTC: earlier than 01:00 UTC, although its text sorts later.
    beijing = observation("ki67_percent", when="2024-05-01T08:00:00+08:00", **percent(4))
    utc = observation("ki67_percent", when="2024-05-01T01:00:00Z", **percent(6))
    assert read("ki67_percent", beijing, utc).value == 6
    assert read("ki67_percent", utc, beijing).value == 6


def test_issued_counts_when_there_is_no_effective_time():
    effective = observation("cga_positive", when="2024-05-01", valueBoolean=False)
    issued = {**observation("cga_positive", when=None, valueBoolean=True), "issued": "2024-05-02T10:00:00Z"}
    assert read("cga_positive", issued, effective).value == 1.0


def test_an_observation_without_a_time_counts_as_the_oldest():
    timeless = observation("cga_positive", when=None, valueBoolean=True)
    dated = observation("cga_positive", when="2020-01-01", valueBoolean=False)
    assert read("cga_positive", dated, timeless).value == 0.0
    assert read("cga_positive", timeless).value == 1.0  # alone it still counts


@pytest.mark.parametrize("status", ["preliminary", "registered", "cancelled", "entered-in-error", "unknown"])
def test_an_unsettled_observation_is_not_a_finding(status):
    assert read("surface_depression", observation("surface_depression", status=status, valueBoolean=True)) is None


@pytest.mark.parametrize("status", ["amended", "corrected"])
def test_a_corrected_result_counts_and_replaces_the_older_final_one(status):
    final = observation("surface_depression", when="2024-01-01", valueBoolean=True)
    corrected = observation("surface_depression", when="2024-01-02", status=status, valueBoolean=False)
    assert read("surface_depression", final, corrected).value == 0.0


def test_observations_of_other_codes_and_other_resources_are_skipped():
    other_code = {
        **observation("ki67_percent", when="2025-01-01", **percent(19)),
        "code": {"coding": [{"system": SYSTEM, "code": "mitoses"}]},
    }
    outcome = {"resourceType": "OperationOutcome", "issue": []}
    assert read("ki67_percent", other_code, outcome, observation("ki67_percent", **percent(2))).value == 2
    assert read("ki67_percent", other_code) is None


def test_an_observation_with_a_data_absent_reason_and_no_value_is_skipped():
    absent = {**observation("cga_positive"), "dataAbsentReason": {"text": "not done"}}
    assert read("cga_positive", absent) is None


def test_an_empty_bundle_is_no_finding():
    assert read("ki67_percent") is None
    assert (
        read_finding({"resourceType": "Bundle"}, where="p", code=(SYSTEM, "x"), kind="percent", patient_id="p1") is None
    )


@pytest.mark.parametrize("reference", ["Patient/p1", "https://ehr.example.org/fhir/Patient/p1"])
def test_the_patient_may_be_named_by_a_relative_or_absolute_reference(reference):
    resource = {**observation("cga_positive", valueBoolean=True), "subject": {"reference": reference}}
    assert read("cga_positive", resource).value == 1.0


@pytest.mark.parametrize("reference", ["Patient/p2", "https://ehr.example.org/fhir/Patient/p10", "Patient/p1x"])
def test_another_patients_observation_is_refused(reference):
    resource = {**observation("cga_positive", valueBoolean=True), "subject": {"reference": reference}}
    with pytest.raises(ObservationError) as caught:
        read("cga_positive", resource)
    assert caught.value.where == "prefetch.cga_positive.entry[0].resource.subject"
    assert "another patient" in caught.value.message


def test_another_patients_preliminary_observation_is_refused_too():
    with pytest.raises(ObservationError):
        read("cga_positive", observation("cga_positive", status="preliminary", patient="p2", valueBoolean=True))


def test_two_equally_recent_observations_that_disagree_are_refused():
    with pytest.raises(ObservationError, match="equally recent"):
        read(
            "cga_positive",
            observation("cga_positive", valueBoolean=True),
            observation("cga_positive", valueBoolean=False),
        )
    agreeing = [observation("cga_positive", valueBoolean=True), observation("cga_positive", **snomed("10828004"))]
    assert read("cga_positive", *agreeing).value == 1.0


ENTRY = "prefetch.ki67_percent.entry[0].resource"
MALFORMED = [
    ({"resourceType": "Observation"}, "prefetch.ki67_percent", "Bundle"),
    ({"resourceType": "Bundle", "entry": {}}, "prefetch.ki67_percent.entry", "list"),
    (bundle({"status": "final"}), ENTRY, "resourceType"),
    ({"resourceType": "Bundle", "entry": ["x"]}, "prefetch.ki67_percent.entry[0]", "resource"),
    (bundle({**observation("ki67_percent", **percent(5)), "status": None}), f"{ENTRY}.status", "required"),
    (bundle({k: v for k, v in observation("ki67_percent", **percent(5)).items() if k != "code"}), f"{ENTRY}.code", "required"),
    (bundle(observation("ki67_percent", valueString="5 %")), ENTRY, "valueQuantity"),
    (bundle(observation("ki67_percent", valueQuantity={"value": "5", "system": UCUM, "code": "%"})), f"{ENTRY}.valueQuantity.value", "number"),
    (bundle(observation("ki67_percent", valueQuantity={"value": True, "code": "%"})), f"{ENTRY}.valueQuantity.value", "number"),
    (bundle(observation("ki67_percent", valueQuantity={"value": 5, "system": UCUM, "code": "mg"})), f"{ENTRY}.valueQuantity.code", "'%' or '1'"),
    (bundle(observation("ki67_percent", valueQuantity={"value": 5, "system": "http://other.example", "code": "%"})), f"{ENTRY}.valueQuantity.system", "UCUM"),
    (bundle(observation("ki67_percent", **percent(150))), f"{ENTRY}.valueQuantity.value", "0 to 100"),
    (bundle(observation("ki67_percent", **percent(-1))), f"{ENTRY}.valueQuantity.value", "0 to 100"),
    (bundle(observation("ki67_percent", **fraction(5))), f"{ENTRY}.valueQuantity.value", "0 to 1"),
    (bundle(observation("ki67_percent", when="01/03/2024", **percent(5))), f"{ENTRY}.effectiveDateTime", "dateTime"),
    (bundle(observation("ki67_percent", when="2024-02-30", **percent(5))), f"{ENTRY}.effectiveDateTime", "valid date"),
    (bundle(observation("ki67_percent", when="2024-02-01T10:00:00", **percent(5))), f"{ENTRY}.effectiveDateTime", "dateTime"),
]  # fmt: skip


@pytest.mark.parametrize(("value", "where", "words"), MALFORMED)
def test_malformed_ki67_bundles_are_refused_naming_the_place(value, where, words):
    with pytest.raises(ObservationError) as caught:
        read_finding(
            value, where="prefetch.ki67_percent", code=(SYSTEM, CODES["ki67_percent"]), kind="percent", patient_id="p1"
        )
    assert caught.value.where == where
    assert words in caught.value.message


CGA = "prefetch.cga_positive.entry[0].resource"


@pytest.mark.parametrize(
    ("resource", "where", "words"),
    [
        (observation("cga_positive", valueBoolean="true"), f"{CGA}.valueBoolean", "true or false"),
        (observation("cga_positive", **snomed("3723001")), f"{CGA}.valueCodeableConcept", "no answer"),
        (observation("cga_positive", valueCodeableConcept={"coding": [{"system": "http://loinc.org", "code": "10828004"}]}), f"{CGA}.valueCodeableConcept", "no answer"),
        (observation("cga_positive", valueCodeableConcept={"coding": [{"system": SNOMED, "code": "10828004"}, {"system": SNOMED, "code": "260385009"}]}), f"{CGA}.valueCodeableConcept", "contradicting"),
        (observation("cga_positive", valueCodeableConcept={"coding": "10828004"}), f"{CGA}.valueCodeableConcept.coding", "list"),
        (observation("cga_positive", **percent(1)), CGA, "valueBoolean or valueCodeableConcept"),
    ],
)  # fmt: skip
def test_malformed_yes_no_observations_are_refused_naming_the_place(resource, where, words):
    with pytest.raises(ObservationError) as caught:
        read("cga_positive", resource)
    assert caught.value.where == where
    assert words in caught.value.message


def test_at_the_same_time_an_amended_or_corrected_result_replaces_the_final_one():
    """A correction usually keeps the effective time: it must replace the result, not void the call."""
    for status in ("amended", "corrected"):
        reading = read(
            "ki67_percent",
            observation("ki67_percent", ident="orig", **percent(3)),
            observation("ki67_percent", status=status, ident="fix", **percent(12)),
        )
        assert (reading.value, reading.observation_id) == (12.0, "fix")


def test_at_the_same_time_and_status_the_later_issued_result_wins():
    first = {**observation("ki67_percent", ident="a", **percent(3)), "issued": "2024-03-02T10:00:00+08:00"}
    later = {**observation("ki67_percent", ident="b", **percent(12)), "issued": "2024-03-05T10:00:00+08:00"}
    assert read("ki67_percent", later, first).value == 12.0
    assert read("ki67_percent", first, later).value == 12.0


@pytest.mark.parametrize("comparator", ["<", "<=", ">=", ">"])
def test_a_ki67_limit_keeps_its_comparator(comparator):
    quantity = {"valueQuantity": {"value": 2, "comparator": comparator, "system": UCUM, "code": "%"}}
    reading = read("ki67_percent", observation("ki67_percent", **quantity))
    assert (reading.value, reading.comparator) == (2.0, comparator)
    assert read("ki67_percent", observation("ki67_percent", **percent(2))).comparator is None


def test_an_unknown_comparator_is_refused():
    quantity = {"valueQuantity": {"value": 2, "comparator": "~", "system": UCUM, "code": "%"}}
    with pytest.raises(ObservationError) as refused:
        read("ki67_percent", observation("ki67_percent", **quantity))
    assert refused.value.where == "prefetch.ki67_percent.entry[0].resource.valueQuantity.comparator"


@pytest.mark.parametrize(
    ("ident", "shown"), [("ki67-1.a", "ki67-1.a"), ("[x](http://evil.example)", None), ("a b", None)]
)
def test_only_a_fhir_id_is_kept_for_the_card(ident, shown):
    assert read("ki67_percent", observation("ki67_percent", ident=ident, **percent(2))).observation_id == shown
