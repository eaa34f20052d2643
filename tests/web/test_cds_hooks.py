"""The CDS Hooks service: discovery, one card per call, missing and malformed data, CORS and Origin.

Expected risks come from the JSON API's own answer for the same findings (and, for one patient,
the numbers written out), never from calling the prediction code again.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs, urlsplit

import pytest

from app.model.artifact import write_artifact
from tests.conftest import DEMO_ARTIFACT, csp_directives, select_one, text_of
from tests.web.conftest import demo_artifact_with, make_client
from tests.web.fhir_fixtures import (
    SERVICE,
    UCUM,
    bundle,
    fraction,
    hook_request,
    observation,
    percent,
    prefetch_for,
    snomed,
)

DEMO = json.loads(DEMO_ARTIFACT.read_text(encoding="utf-8"))


def api_risk(client, depression, ki67, cga) -> tuple[float, float, float]:
    body = {"surface_depression": depression, "ki67_percent": ki67, "cga_positive": cga}
    data = client.post("/api/v1/predict", json=body).json()
    return data["probability"], *data["ci95"]


def one_decimal(p: float) -> str:
    """The page's format inside 1–99 %, written out independently of app.web.i18n."""
    assert 0.01 <= p <= 0.99
    return f"{100 * p:.1f} %"


def only_card(response) -> dict:
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    assert len(cards) == 1
    return cards[0]


def link_query(card: dict) -> dict[str, list[str]]:
    (link,) = card["links"]
    assert link["type"] == "absolute"
    parts = urlsplit(link["url"])
    assert (parts.scheme, parts.netloc, parts.path) == ("http", "testserver", "/embed")
    return parse_qs(parts.query)


# ---------------------------------------------------------------- discovery


def test_discovery_lists_the_service_with_one_prefetch_search_per_finding():
    answer = make_client().get("/cds-services")
    assert answer.status_code == 200
    (service,) = answer.json()["services"]
    assert service["id"] == "rnet-non-curative-risk"
    assert service["hook"] == "patient-view"
    assert service["title"] and service["description"]
    system = "https://rnet-calculator.example/fhir/CodeSystem/findings"
    assert service["prefetch"] == {
        "surface_depression": f"Observation?patient={{{{context.patientId}}}}&code={system}|surface-depression",
        "ki67_percent": f"Observation?patient={{{{context.patientId}}}}&code={system}|ki67-percent",
        "cga_positive": f"Observation?patient={{{{context.patientId}}}}&code={system}|cga-positive",
    }


def test_discovery_uses_the_hospitals_codes_from_the_settings():
    client = make_client(
        fhir_code_ki67="https://his.example.org/codes|KI67",
        fhir_code_cga="urn:oid:1.2.156.1|CGA-IHC",
        fhir_code_surface_depression="https://his.example.org/endo|DEPRESSED",
    )
    prefetch = client.get("/cds-services").json()["services"][0]["prefetch"]
    assert prefetch["ki67_percent"].endswith("&code=https://his.example.org/codes|KI67")
    assert prefetch["cga_positive"].endswith("&code=urn:oid:1.2.156.1|CGA-IHC")
    assert prefetch["surface_depression"].endswith("&code=https://his.example.org/endo|DEPRESSED")


def test_observations_are_read_by_the_configured_code_only():
    client = make_client(fhir_code_ki67="https://his.example.org/codes|KI67")
    local = observation("ki67_percent", **percent(12))
    local["code"] = {"coding": [{"system": "https://his.example.org/codes", "code": "KI67"}]}
    prefetch = prefetch_for(depression=True, ki67=None, cga=True)
    prefetch["ki67_percent"] = bundle(
        local, observation("ki67_percent", **percent(2))
    )  # the default code: not ours now
    card = only_card(client.post(SERVICE, json=hook_request(prefetch)))
    assert link_query(card)["ki67_percent"] == ["12"]


# ---------------------------------------------------------------- one card with the API's risk

PATIENTS = [
    ("p1", True, 5.0, True),
    ("p2", False, 1.2, False),
    ("p-3", True, 8.5, False),
    ("p.4", False, 9.0, True),
]


@pytest.mark.parametrize(("patient", "depression", "ki67", "cga"), PATIENTS)
def test_the_card_carries_the_apis_risk_and_links_to_the_prefilled_calculator(patient, depression, ki67, cga):
    client = make_client()
    request = hook_request(prefetch_for(depression=depression, ki67=ki67, cga=cga, patient=patient), patient=patient)
    card = only_card(client.post(SERVICE, json=request))
    risk, lo, hi = api_risk(client, depression, ki67, cga)
    assert (
        card["summary"]
        == f"Risk of non-curative resection {one_decimal(risk)} (95 % CI {one_decimal(lo)} to {one_decimal(hi)})"
        " (demo model)"  # the shipped model is a demonstration: the summary, often all an EHR shows, says so
    )
    assert card["indicator"] == "info"
    query = link_query(card)
    assert query == {
        "surface_depression": ["1" if depression else "0"],
        "ki67_percent": [f"{ki67:g}"],
        "cga_positive": ["1" if cga else "0"],
    }
    # The link opens the calculator showing the same number.
    page = client.get(urlsplit(card["links"][0]["url"]).path + "?" + urlsplit(card["links"][0]["url"]).query)
    assert text_of(select_one(page.text, "span", cls="risk-value")) == one_decimal(risk)


def test_one_patient_written_out():
    """Surface depression, Ki-67 5 %, CgA positive on the shipped demo model: 86.1 % (71.1 % to 93.9 %)."""
    card = only_card(make_client().post(SERVICE, json=hook_request(prefetch_for(depression=True, ki67=5, cga=True))))
    assert card["summary"] == "Risk of non-curative resection 86.1 % (95 % CI 71.1 % to 93.9 %) (demo model)"


def test_calls_for_several_patients_each_get_their_own_risk():
    client = make_client()
    summaries = {
        patient: only_card(
            client.post(
                SERVICE, json=hook_request(prefetch_for(depression=d, ki67=k, cga=c, patient=patient), patient=patient)
            )
        )["summary"]
        for patient, d, k, c in PATIENTS
    }
    assert len(set(summaries.values())) == len(PATIENTS)


def test_the_source_names_model_version_and_the_demonstration():
    card = only_card(make_client().post(SERVICE, json=hook_request(prefetch_for(depression=True, ki67=5, cga=True))))
    label = card["source"]["label"]
    assert "rnet-demo-v1" in label
    assert DEMO["sha256"][:12] in label
    assert "demonstration model" in label
    assert card["source"]["url"] == "http://testserver/model"
    assert "Demonstration model" in card["detail"]
    assert f"model version SHA-256 {DEMO['sha256'][:12]}" in card["detail"]


def fitted_client(tmp_path):
    """The demo's numbers as a model fitted on patients, without an applicable range (Ki-67 25 % extrapolates)."""

    def fitted(data: dict) -> None:
        data["provenance"]["source"] = "fitted"
        del data["predictors"][1]["applicable_range"]

    return make_client(artifact=demo_artifact_with(tmp_path, fitted))


def test_a_fitted_model_has_no_demonstration_notice(tmp_path):
    client = fitted_client(tmp_path)
    card = only_card(client.post(SERVICE, json=hook_request(prefetch_for(depression=True, ki67=5, cga=True))))
    assert "demonstration" not in card["source"]["label"].lower()
    assert "demonstration" not in card["detail"].lower()


def test_ki67_given_as_a_fraction_gives_the_same_risk_as_in_percent_and_says_it_was_converted():
    client = make_client()
    prefetch = prefetch_for(depression=False, ki67=None, cga=True)
    prefetch["ki67_percent"] = bundle(observation("ki67_percent", **fraction(0.035)))
    card = only_card(client.post(SERVICE, json=hook_request(prefetch)))
    risk, lo, hi = api_risk(client, False, 3.5, True)
    assert card["summary"].startswith(f"Risk of non-curative resection {one_decimal(risk)} ")
    assert link_query(card)["ki67_percent"] == ["3.5"]
    assert "- Ki-67 index: 3.5 % (recorded as the fraction 0.035: 3.5 %)" in card["detail"]


def test_coded_answers_give_the_same_risk_as_booleans():
    client = make_client()
    prefetch = prefetch_for(depression=None, ki67=6, cga=None)
    prefetch["surface_depression"] = bundle(observation("surface_depression", **snomed("373067005")))  # No
    prefetch["cga_positive"] = bundle(observation("cga_positive", **snomed("10828004")))  # Positive
    card = only_card(client.post(SERVICE, json=hook_request(prefetch)))
    risk, _, _ = api_risk(client, False, 6, True)
    assert card["summary"].startswith(f"Risk of non-curative resection {one_decimal(risk)} ")


def test_the_most_recent_final_ki67_is_the_one_used():
    client = make_client()
    prefetch = prefetch_for(depression=True, ki67=None, cga=False)
    prefetch["ki67_percent"] = bundle(
        observation("ki67_percent", when="2024-01-05", **percent(2)),
        observation("ki67_percent", when="2024-04-05", **percent(11)),
        observation("ki67_percent", when="2024-06-05", status="preliminary", **percent(18)),
    )
    card = only_card(client.post(SERVICE, json=hook_request(prefetch)))
    assert link_query(card)["ki67_percent"] == ["11"]
    risk, _, _ = api_risk(client, True, 11, False)
    assert card["summary"].startswith(f"Risk of non-curative resection {one_decimal(risk)} ")


def test_the_card_is_in_chinese_when_the_ehr_asks_for_it():
    card = only_card(
        make_client().post(
            SERVICE,
            json=hook_request(prefetch_for(depression=True, ki67=5, cga=True)),
            headers={"accept-language": "zh-CN"},
        )
    )
    assert card["summary"] == "非治愈性切除风险 86.1 %（95 % 置信区间 71.1 % 至 93.9 %）（演示模型）"
    assert card["links"][0]["label"] == "用这些检查结果打开计算器"
    assert "- 表面凹陷：是" in card["detail"]


def test_the_chinese_card_names_the_conversion_and_the_observation_in_chinese():
    prefetch = prefetch_for(depression=True, ki67=None, cga=True)
    prefetch["ki67_percent"] = bundle(observation("ki67_percent", ident="k1", **fraction(0.035)))
    card = only_card(make_client().post(SERVICE, json=hook_request(prefetch), headers={"accept-language": "zh"}))
    line = "- Ki-67 指数：3.5 %（病历中记录为小数 0.035，即 3.5 %）（观察记录 k1，2024-03-01T09:00:00+08:00）"
    assert line in card["detail"].splitlines()


# ---------------------------------------------------------------- outside the model's range


def test_ki67_above_the_applicable_range_gives_a_warning_without_a_risk():
    card = only_card(make_client().post(SERVICE, json=hook_request(prefetch_for(depression=True, ki67=25, cga=True))))
    assert card["indicator"] == "warning"
    assert card["summary"] == "No risk given: the findings are outside the population this model applies to"
    assert "G3" in card["detail"]
    assert "%" not in card["summary"]
    assert link_query(card)["ki67_percent"] == ["25"]


def test_ki67_beyond_the_fitted_range_gives_a_warning_with_the_risk(tmp_path):
    data = json.loads(DEMO_ARTIFACT.read_text(encoding="utf-8"))
    ki67 = next(p for p in data["predictors"] if p["name"] == "ki67_percent")
    ki67["fitted_range"] = [0.1, 10.0]
    data.pop("sha256")
    write_artifact(tmp_path / "narrow.json", data)
    client = make_client(artifact=tmp_path / "narrow.json")
    inside = only_card(client.post(SERVICE, json=hook_request(prefetch_for(depression=True, ki67=9, cga=True))))
    beyond = only_card(client.post(SERVICE, json=hook_request(prefetch_for(depression=True, ki67=15, cga=True))))
    assert inside["indicator"] == "info"
    assert beyond["indicator"] == "warning"
    risk, _, _ = api_risk(client, True, 15, True)
    assert beyond["summary"].startswith(f"Risk of non-curative resection {one_decimal(risk)} ")
    assert "extrapolation" in beyond["detail"]


# ---------------------------------------------------------------- findings not in the record


@pytest.mark.parametrize(
    ("ki67", "cga", "without", "query"),
    [
        (None, True, "Ki-67 index", {"ki67_unknown": ["1"], "cga_positive": ["1"]}),
        (4.0, None, "Chromogranin A (CgA)", {"ki67_percent": ["4"], "cga_positive": ["unknown"]}),
        (None, None, "Ki-67 index and Chromogranin A (CgA)", {"ki67_unknown": ["1"], "cga_positive": ["unknown"]}),
    ],
)
def test_a_finding_not_in_the_record_is_answered_by_the_submodel_as_the_calculator_does(ki67, cga, without, query):
    client = make_client()
    card = only_card(client.post(SERVICE, json=hook_request(prefetch_for(depression=True, ki67=ki67, cga=cga))))
    risk, lo, hi = api_risk(client, True, ki67, cga)
    assert card["summary"] == (
        f"Risk of non-curative resection {one_decimal(risk)} (95 % CI {one_decimal(lo)} to {one_decimal(hi)})"
        f" (estimated without {without}) (demo model)"
    )
    assert link_query(card) == {"surface_depression": ["1"], **query}
    assert "no final Observation in the record" in card["detail"]


def test_a_finding_whose_prefetch_is_null_is_reported_as_not_sent():
    prefetch = prefetch_for(depression=True, ki67=3, cga=True)
    prefetch["cga_positive"] = None
    card = only_card(make_client().post(SERVICE, json=hook_request(prefetch)))
    assert "(estimated without Chromogranin A (CgA))" in card["summary"]
    assert "- Chromogranin A (CgA): not sent by the EHR" in card["detail"]


def test_a_model_without_submodels_asks_for_the_missing_finding(tmp_path):
    client = make_client(artifact=demo_artifact_with(tmp_path, lambda data: data.pop("submodels")))
    card = only_card(client.post(SERVICE, json=hook_request(prefetch_for(depression=True, ki67=None, cga=False))))
    assert card["summary"] == "The R-NET risk needs Ki-67 index from the record"
    assert card["indicator"] == "info"
    assert "This model needs Ki-67 index" in card["detail"]
    assert card["links"][0]["label"] == "Open the calculator to enter the findings"
    assert link_query(card) == {"surface_depression": ["1"], "ki67_unknown": ["1"], "cga_positive": ["0"]}


def test_surface_depression_is_needed_by_every_model():
    card = only_card(make_client().post(SERVICE, json=hook_request(prefetch_for(depression=None, ki67=3, cga=True))))
    assert card["summary"] == "The R-NET risk needs Surface depression from the record"
    assert "%" not in card["summary"]


@pytest.mark.parametrize("request_body", [hook_request(None), hook_request(omit_prefetch=True)])
def test_without_prefetch_the_card_says_which_data_are_needed(request_body):
    card = only_card(make_client().post(SERVICE, json=request_body))
    assert card["summary"] == "The R-NET risk needs surface depression, Ki-67 and CgA: the EHR sent none"
    assert card["indicator"] == "info"
    system = "https://rnet-calculator.example/fhir/CodeSystem/findings"
    for code in ("surface-depression", "ki67-percent", "cga-positive"):
        assert f"`Observation?patient={{{{context.patientId}}}}&code={system}|{code}`" in card["detail"]
    assert card["links"][0]["url"] == "http://testserver/embed"


# ---------------------------------------------------------------- malformed requests


def problems(response) -> list[tuple[str, str]]:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert all(issue["severity"] == "error" for issue in body["issue"])
    return [((issue.get("expression") or [""])[0], issue["diagnostics"]) for issue in body["issue"]]


GOOD = hook_request(prefetch_for(depression=True, ki67=5, cga=True))


def _with(**changes):
    return {**GOOD, **changes}


@pytest.mark.parametrize(
    ("body", "where", "words"),
    [
        ([GOOD], "body", "JSON object"),
        (_with(hookInstance=None), "hookInstance", "valid string"),
        ({k: v for k, v in GOOD.items() if k != "hook"}, "hook", "required"),
        (_with(hook="order-sign"), "hook", "'patient-view' hook only"),
        (_with(context={"userId": "Practitioner/1"}), "context.patientId", "required"),
        (_with(context={"patientId": 42}), "context.patientId", "valid string"),
        (_with(context={"patientId": "p 1/../x"}), "context.patientId", "pattern"),
        (_with(prefetch=[1]), "prefetch", "valid dictionary"),
        (_with(prefetch={"ki67_percent": {"resourceType": "Patient"}}), "prefetch.ki67_percent", "Bundle"),
        (
            _with(prefetch={**GOOD["prefetch"], "cga_positive": bundle(observation("cga_positive", valueString="pos"))}),
            "prefetch.cga_positive.entry[0].resource",
            "valueBoolean or valueCodeableConcept",
        ),
        (
            _with(prefetch={**GOOD["prefetch"], "ki67_percent": bundle(observation("ki67_percent", patient="p9", **percent(3)))}),
            "prefetch.ki67_percent.entry[0].resource.subject",
            "another patient",
        ),
    ],
)  # fmt: skip
def test_malformed_requests_get_400_with_an_operation_outcome_naming_the_problem(body, where, words):
    response = make_client().post(SERVICE, json=body)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    found = problems(response)
    assert [w for w, _ in found] == [where]
    assert words in found[0][1]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b'{"hook": "patient-view", "hook": "order-sign"}', "'hook' is given more than once"),
        (b"{not json", "not valid JSON"),
        (b'{"a": NaN}', "not valid JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[" * 30 + b"]" * 30, "nested more than"),
    ],
)
def test_bodies_that_are_not_strict_json_get_400(content, words):
    response = make_client().post(SERVICE, content=content, headers={"content-type": "application/json"})
    assert response.status_code == 400
    ((where, message),) = problems(response)
    assert where == "body" and words in message


def test_a_body_of_another_media_type_is_refused():
    response = make_client().post(SERVICE, content=json.dumps(GOOD), headers={"content-type": "text/plain"})
    assert response.status_code == 415
    assert problems(response)[0][1].startswith("Send the request as Content-Type: application/json")


def test_a_body_above_the_limit_gets_413_as_an_operation_outcome():
    big = _with(padding="x" * 20_000)
    response = make_client().post(SERVICE, json=big)
    assert response.status_code == 413
    assert "RNET_MAX_BODY_BYTES" in problems(response)[0][1]


@pytest.mark.parametrize(
    ("method", "path", "status"), [("POST", "/cds-services/other-service", 404), ("DELETE", SERVICE, 405)]
)
def test_unknown_services_and_methods_get_operation_outcomes(method, path, status):
    response = make_client().request(method, path, json=GOOD)
    assert response.status_code == status
    assert problems(response)


def test_error_messages_never_repeat_the_patient_id():
    body = _with(
        context={"patientId": "secret-patient-77"},
        prefetch={"ki67_percent": bundle(observation("ki67_percent", **percent(3)))},
    )
    response = make_client().post(SERVICE, json=body)
    assert response.status_code == 400  # p1's Observation in secret-patient-77's call
    assert "secret-patient-77" not in response.text


# ---------------------------------------------------------------- headers, CORS, Origin, logs

EHR = "https://ehr.example.org"


def test_answers_carry_the_apis_security_headers():
    response = make_client().post(SERVICE, json=GOOD)
    assert csp_directives(response.headers["content-security-policy"])["frame-ancestors"] == ["'self'"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-model-sha256"] == DEMO["sha256"]


def test_cors_is_granted_to_configured_origins_only():
    client = make_client(cds_allowed_origins=f"{EHR} https://other-ehr.example.org")
    for method, path in (("GET", "/cds-services"), ("POST", SERVICE)):
        allowed = client.request(method, path, json=GOOD, headers={"origin": EHR})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == EHR
        assert allowed.headers["vary"] == "Origin"
    listed_not = client.get("/cds-services", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in listed_not.headers
    server_to_server = client.post(SERVICE, json=GOOD)
    assert server_to_server.status_code == 200
    assert "access-control-allow-origin" not in server_to_server.headers


def test_errors_to_an_allowed_origin_are_readable_by_its_browser():
    client = make_client(cds_allowed_origins=EHR)
    response = client.post(SERVICE, json=_with(hook="order-sign"), headers={"origin": EHR})
    assert response.status_code == 400
    assert response.headers["access-control-allow-origin"] == EHR


def test_the_preflight_is_answered_for_configured_origins_only():
    client = make_client(cds_allowed_origins=EHR)
    preflight = {
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
    }
    granted = client.options(SERVICE, headers={"origin": EHR, **preflight})
    assert granted.status_code == 204
    assert granted.headers["access-control-allow-origin"] == EHR
    assert set(granted.headers["access-control-allow-methods"].replace(" ", "").split(",")) == {"POST", "OPTIONS"}
    discovery = client.options("/cds-services", headers={"origin": EHR, "access-control-request-method": "GET"})
    assert discovery.headers["access-control-allow-methods"] == "GET, OPTIONS"
    assert set(granted.headers["access-control-allow-headers"].lower().replace(" ", "").split(",")) == {
        "authorization",
        "content-type",
    }
    refused = client.options(SERVICE, headers={"origin": "https://evil.example", **preflight})
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers
    assert "access-control-allow-methods" not in refused.headers
    nothing_configured = make_client().options(SERVICE, headers={"origin": EHR, **preflight})
    assert "access-control-allow-origin" not in nothing_configured.headers


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"sec-fetch-site": "cross-site"},
        {"origin": "null", "sec-fetch-site": "cross-site"},
    ],
)
def test_posts_from_other_sites_are_refused_unless_configured(headers):
    response = make_client(cds_allowed_origins=EHR).post(SERVICE, json=GOOD, headers=headers)
    assert response.status_code == 403
    assert problems(response)
    assert "access-control-allow-origin" not in response.headers


def test_a_configured_origin_may_post_even_when_the_browser_says_cross_site():
    response = make_client(cds_allowed_origins=EHR).post(
        SERVICE, json=GOOD, headers={"origin": EHR, "sec-fetch-site": "cross-site"}
    )
    assert response.status_code == 200


def test_no_patient_data_in_the_audit_or_access_log(tmp_path, caplog):
    audit = tmp_path / "audit.jsonl"
    client = make_client(audit_log=audit)
    request = hook_request(
        prefetch_for(depression=True, ki67=4.125, cga=False, patient="pat-31337"), patient="pat-31337"
    )
    with caplog.at_level(logging.INFO, logger="rnet"):
        card = only_card(client.post(SERVICE, json=request))
    (line,) = audit.read_text().splitlines()
    entry = json.loads(line)
    assert set(entry) == {"time", "channel", "model_id", "model_sha256", "risk_percent"}
    assert entry["channel"] == "cds"
    assert f"{entry['risk_percent']} %" in card["summary"]
    # The time is left out of the search: its milliseconds could spell any short number.
    logged = json.dumps({k: v for k, v in entry.items() if k != "time"}) + caplog.text
    assert "/cds-services/rnet-non-curative-risk" in caplog.text  # the access log did record the call
    for secret in ("pat-31337", "4.125", "d1577c69", "Practitioner"):
        assert secret not in logged


def test_cards_without_a_risk_write_no_audit_line(tmp_path):
    audit = tmp_path / "audit.jsonl"
    client = make_client(audit_log=audit)
    assert client.post(SERVICE, json=hook_request(None)).status_code == 200
    assert client.post(SERVICE, json=hook_request(prefetch_for(depression=True, ki67=40, cga=True))).status_code == 200
    assert client.post(SERVICE, json=_with(hook="order-sign")).status_code == 400
    assert audit.read_text() == ""


def test_every_error_of_the_service_is_readable_by_an_allowed_ehr_and_by_no_other_site():
    """404 (another service id), 405 (GET on the service), 413 (made before any route runs) and 415."""
    client = make_client(cds_allowed_origins=EHR, max_body_bytes=4096)
    calls = [
        ("POST", "/cds-services/another-service", {"json": GOOD}, 404),
        ("GET", SERVICE, {}, 405),
        ("POST", SERVICE, {"content": b"{" + b" " * 5000 + b"}", "headers": {"content-type": "application/json"}}, 413),
        ("POST", SERVICE, {"content": b"x=1", "headers": {"content-type": "application/x-www-form-urlencoded"}}, 415),
    ]
    for method, path, options, status in calls:
        for origin, readable in ((EHR, True), ("https://evil.example", False)):
            headers = {**options.get("headers", {}), "origin": origin}
            response = client.request(method, path, **{**options, "headers": headers})
            # A POST the service reads, from a site not configured, is refused before it is read (403).
            refused_first = not readable and status == 415
            assert response.status_code == (403 if refused_first else status), (method, path, origin)
            assert response.headers.get_list("access-control-allow-origin") == ([EHR] if readable else []), (
                path,
                status,
            )
            assert response.headers["vary"] == "Origin"
            assert response.json()["resourceType"] == "OperationOutcome"


def test_the_cards_links_start_with_the_public_url_whatever_host_the_call_came_to():
    """Behind a proxy that rewrites Host, only RNET_PUBLIC_URL gives the address the clinician's browser reaches."""
    request = hook_request(prefetch_for(depression=True, ki67=5, cga=True))
    proxied = make_client(public_url="https://rnet.hospital.org/rnet/")
    card = only_card(proxied.post(SERVICE, json=request, headers={"host": "10.0.0.7:8000"}))
    assert card["links"][0]["url"] == (
        "https://rnet.hospital.org/rnet/embed?surface_depression=1&ki67_percent=5&cga_positive=1"
    )
    assert card["source"]["url"] == "https://rnet.hospital.org/rnet/model"
    direct = only_card(make_client().post(SERVICE, json=request, headers={"host": "10.0.0.7:8000"}))
    assert direct["links"][0]["url"].startswith("http://10.0.0.7:8000/embed?")


def limit(value: float, comparator: str) -> dict:
    return {"valueQuantity": {"value": value, "comparator": comparator, "system": UCUM, "code": "%"}}


def with_ki67(resource: dict) -> dict:
    prefetch = prefetch_for(depression=True, ki67=None, cga=True)
    prefetch["ki67_percent"] = bundle(resource)
    return hook_request(prefetch)


def test_a_ki67_below_a_limit_is_read_as_the_calculator_reads_it_half_the_limit():
    client = make_client()
    card = only_card(client.post(SERVICE, json=with_ki67(observation("ki67_percent", **limit(2, "<")))))
    risk, lo, hi = api_risk(client, True, 1.0, True)  # "<2" is read as 1 % by the calculator's own rule
    assert (
        card["summary"]
        == f"Risk of non-curative resection {one_decimal(risk)} (95 % CI {one_decimal(lo)} to {one_decimal(hi)})"
        " (demo model)"
    )
    assert link_query(card)["ki67_percent"] == ["<2"]
    assert '- Ki-67 index: < 2 % (a limit: read as 1 %, half of it, as the calculator reads "<1")' in card["detail"]
    page = client.get("/embed?" + urlsplit(card["links"][0]["url"]).query)
    assert text_of(select_one(page.text, "span", cls="risk-value")) == one_decimal(risk)


@pytest.mark.parametrize(("value", "comparator"), [(20, ">"), (25, ">="), (30, ">")])
def test_a_ki67_above_a_g3_limit_gives_no_risk(value, comparator):
    card = only_card(
        make_client().post(SERVICE, json=with_ki67(observation("ki67_percent", **limit(value, comparator))))
    )
    assert card["indicator"] == "warning"
    assert card["summary"] == "No risk given: the findings are outside the population this model applies to"
    assert "G3" in card["detail"] and f"- Ki-67 index: {comparator} {value} %" in card["detail"]


@pytest.mark.parametrize(("value", "comparator"), [(20, ">="), (5, ">")])
def test_a_ki67_limit_that_leaves_the_value_open_is_refused_naming_it(value, comparator):
    response = make_client().post(SERVICE, json=with_ki67(observation("ki67_percent", **limit(value, comparator))))
    assert response.status_code == 400
    assert problems(response) == [
        (
            "prefetch.ki67_percent",
            f"prefetch.ki67_percent: the most recent Ki-67 is recorded only as {comparator} {value} %, a limit that "
            "leaves the value open within the model's range; record the measured value",
        )
    ]


def test_an_observation_id_that_is_not_a_fhir_id_never_reaches_the_cards_markdown():
    resource = observation("ki67_percent", ident="[click](http://evil.example)", **percent(5))
    card = only_card(make_client().post(SERVICE, json=with_ki67(resource)))
    assert "evil.example" not in card["detail"] and "](" not in card["detail"]


def test_a_record_without_any_of_the_findings_gets_no_card():
    """patient-view fires on every chart: a card saying "nothing recorded" on each one is alert fatigue."""
    response = make_client().post(SERVICE, json=hook_request(prefetch_for(depression=None, ki67=None, cga=None)))
    assert response.status_code == 200 and response.json() == {"cards": []}


def test_without_surface_depression_only_it_is_asked_for_even_with_other_gaps():
    """The demo has submodels without Ki-67 and CgA: only surface depression is needed."""
    card = only_card(make_client().post(SERVICE, json=hook_request(prefetch_for(depression=None, ki67=None, cga=True))))
    assert card["summary"] == "The R-NET risk needs Surface depression from the record"
    assert "Ki-67" not in card["detail"].split("**")[0]  # the explanation before the findings list


def test_a_fitted_models_summary_has_no_demo_tag_and_an_extrapolation_is_tagged(tmp_path):
    """Many EHRs show only the summary: an extrapolated risk says so there, not only in the indicator."""
    client = fitted_client(tmp_path)
    inside = only_card(client.post(SERVICE, json=hook_request(prefetch_for(depression=True, ki67=5, cga=True))))
    assert inside["summary"] == "Risk of non-curative resection 86.1 % (95 % CI 71.1 % to 93.9 %)"
    beyond = only_card(client.post(SERVICE, json=hook_request(prefetch_for(depression=False, ki67=25, cga=False))))
    assert beyond["indicator"] == "warning" and beyond["summary"].endswith(" (extrapolated)")
