"""The CDS Hooks service called over HTTP by a real `python -m app serve`, as an EHR calls it.

The "EHR" here discovers the service, runs each prefetch template against its own small record
(a FHIR search by patient and code), calls the service, and compares the card with the JSON API's
answer from the same server; then it opens the card's link.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import REPO, free_port, wait_for
from tests.web.fhir_fixtures import CODES, bundle, fraction, observation, percent, snomed

EHR_ORIGIN = "https://ehr.example.org"
LOCAL_KI67 = ("https://his.example.org/codes", "KI67")

# The EHR's record: two patients, with history (older, preliminary and other patients' results).
RECORD = [
    observation("surface_depression", patient="a1", valueBoolean=True),
    observation("ki67_percent", patient="a1", when="2024-02-01", **percent(2)),
    observation("ki67_percent", patient="a1", when="2024-03-01", **percent(6)),
    observation("cga_positive", patient="a1", **snomed("10828004")),
    observation("surface_depression", patient="b2", **snomed("373067005")),
    observation("ki67_percent", patient="b2", status="preliminary", **percent(15)),
    observation("ki67_percent", patient="b2", **fraction(0.031)),
    observation("cga_positive", patient="b2", valueBoolean=False),
]
for resource in RECORD:  # this hospital codes Ki-67 locally
    if resource["code"]["coding"][0]["code"] == CODES["ki67_percent"]:
        resource["code"] = {"coding": [{"system": LOCAL_KI67[0], "code": LOCAL_KI67[1]}]}


def ehr_search(query: str) -> dict:
    """The EHR's FHIR server answering `Observation?patient=…&code=system|code`."""
    path, _, params = query.partition("?")
    assert path == "Observation"
    args = parse_qs(params)
    system, code = args["code"][0].split("|")
    patient = args["patient"][0]
    return bundle(
        *(
            r
            for r in RECORD
            if r["subject"]["reference"] == f"Patient/{patient}"
            and {"system": system, "code": code} in r["code"]["coding"]
        )
    )


def call(port: int, method: str, path: str, body: object = None, headers: dict | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        payload = None if body is None else json.dumps(body)
        connection.request(method, path, body=payload, headers={"content-type": "application/json", **(headers or {})})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[int]:
    port = free_port()
    log = (tmp_path_factory.mktemp("cds") / "stderr.txt").open("w+")
    env = {
        **os.environ,
        "RNET_LOG_LEVEL": "warning",
        "RNET_CDS_ALLOWED_ORIGINS": EHR_ORIGIN,
        "RNET_FHIR_CODE_KI67": "|".join(LOCAL_KI67),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port)], cwd=REPO, env=env, stdout=log, stderr=log
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/readyz")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.mark.parametrize(("patient", "findings"), [
    ("a1", {"surface_depression": True, "ki67_percent": 6, "cga_positive": True}),
    ("b2", {"surface_depression": False, "ki67_percent": 3.1, "cga_positive": False}),
])  # fmt: skip
def test_an_ehr_discovers_prefetches_and_calls_the_service(server, patient, findings):
    status, headers, body = call(server, "GET", "/cds-services")
    assert status == 200
    (service,) = json.loads(body)["services"]
    assert service["prefetch"]["ki67_percent"].endswith("&code=https://his.example.org/codes|KI67")
    prefetch = {
        key: ehr_search(template.replace("{{context.patientId}}", patient))
        for key, template in service["prefetch"].items()
    }
    request = {
        "hookInstance": f"instance-{patient}",
        "hook": service["hook"],
        "fhirServer": "https://ehr.example.org/fhir",
        "context": {"userId": "Practitioner/dr1", "patientId": patient},
        "prefetch": prefetch,
    }
    status, headers, body = call(server, "POST", f"/cds-services/{service['id']}", request, {"origin": EHR_ORIGIN})
    assert status == 200, body
    assert headers["access-control-allow-origin"] == EHR_ORIGIN
    (card,) = json.loads(body)["cards"]

    status, _, api_body = call(server, "POST", "/api/v1/predict", findings)
    answer = json.loads(api_body)
    lo, hi = answer["ci95"]
    assert card["summary"] == (
        f"Risk of non-curative resection {100 * answer['probability']:.1f} % "
        f"(95 % CI {100 * lo:.1f} % to {100 * hi:.1f} %) (demo model)"
    )
    link = urlsplit(card["links"][0]["url"])
    assert link.netloc == f"127.0.0.1:{server}"
    assert parse_qs(link.query)["ki67_percent"] == [f"{findings['ki67_percent']:g}"]
    status, _, page = call(server, "GET", f"{link.path}?{link.query}")
    assert status == 200
    assert f'<span class="risk-value">{100 * answer["probability"]:.1f} %</span>' in page.decode()


def test_the_browser_preflight_over_http(server):
    status, headers, _ = call(
        server,
        "OPTIONS",
        "/cds-services/rnet-non-curative-risk",
        headers={"origin": EHR_ORIGIN, "access-control-request-method": "POST"},
    )
    assert status == 204
    assert headers["access-control-allow-origin"] == EHR_ORIGIN


def test_the_serving_path_imports_no_fhir_or_statistics_library():
    """fhir.resources is for the tests: building answers as dicts keeps start-up inside its budget."""
    code = (
        "import sys; from app.web import create_app; create_app(); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'fhir', 'fhir_core', 'statsmodels', 'scipy'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
