"""Operations: model identity headers, the audit log without findings, workers, SIGTERM."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import tomllib
import urllib.request

import pytest

from tests.conftest import DEMO_ARTIFACT, REPO, free_port, wait_for
from tests.web.conftest import make_client

FINDINGS = {"surface_depression": True, "ki67_percent": 17.3, "cga_positive": True}


def shipped() -> dict:
    return json.loads(DEMO_ARTIFACT.read_text(encoding="utf-8"))


def project_version() -> str:
    """The version in pyproject.toml: what the app reports must be what was released."""
    with (REPO / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)["project"]["version"]


def test_answers_name_the_model_in_headers(client):
    sha256 = shipped()["sha256"]
    response = client.post("/api/v1/predict", json=FINDINGS)
    assert response.headers["x-model-id"] == "rnet-demo-v1"
    assert response.headers["x-model-sha256"] == response.json()["model"]["sha256"] == sha256
    assert response.headers["x-app-version"] == project_version()
    for path in ("/", "/model", "/embed", "/docs"):
        page = client.get(path)
        assert (page.headers["x-model-id"], page.headers["x-model-sha256"]) == ("rnet-demo-v1", sha256), path
    metadata = client.get("/api/v1/model")
    assert metadata.json()["app_version"] == project_version()
    assert metadata.headers["x-app-version"] == project_version()
    assert metadata.headers["x-model-sha256"] == sha256


def risk_by_hand(ki67_percent: float, cga_positive: int) -> float:
    """expit(b0 + b_dep·1 + b_ki67·ki67 + b_cga·cga) from the shipped coefficients, with depression present."""
    b = shipped()["coefficients"]
    lp = b["intercept"] + b["surface_depression"] + b["ki67_percent"] * ki67_percent + b["cga_positive"] * cga_positive
    return 1.0 / (1.0 + math.exp(-lp))


def displayed(probability: float) -> float:
    """What the page shows, worked out from the rule in the README: percent, one decimal (two below 1 %)."""
    percent = probability * 100
    return round(percent, 2 if percent < 1 else 1)


def test_audit_log_records_model_and_the_risk_as_displayed_but_never_findings(tmp_path):
    log = tmp_path / "audit.jsonl"
    client = make_client(audit_log=log)
    client.post("/api/v1/predict", json=FINDINGS)
    client.post("/", data={"surface_depression": "1", "ki67_percent": "17.3", "cga_positive": "unknown"})
    client.get("/")  # no result, no line
    client.post("/partials/result", data={"surface_depression": "1", "ki67_percent": "17.3", "cga_positive": "0"})
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line["channel"] for line in lines] == ["api", "page", "live"]
    # One decimal as displayed, not the 6-decimal probability that let the findings be recovered.
    assert lines[0]["risk_percent"] == displayed(risk_by_hand(17.3, 1))
    assert lines[0]["risk_percent"] != round(risk_by_hand(17.3, 1), 6)
    # CgA unknown: the submodel without CgA answers (its own coefficients, by hand as well).
    without_cga = next(s for s in shipped()["submodels"] if s["missing"] == ["cga_positive"])["coefficients"]
    lp = without_cga["intercept"] + without_cga["surface_depression"] + without_cga["ki67_percent"] * 17.3
    assert lines[1]["risk_percent"] == displayed(1.0 / (1.0 + math.exp(-lp)))
    assert lines[2]["risk_percent"] == displayed(risk_by_hand(17.3, 0))
    sha256 = shipped()["sha256"]
    for line in lines:
        assert set(line) == {"time", "channel", "model_id", "model_sha256", "risk_percent"}
        assert (line["model_id"], line["model_sha256"]) == ("rnet-demo-v1", sha256)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])
        assert re.fullmatch(r"\d+\.\d{1,2}", str(line["risk_percent"]))
    text = log.read_text()
    assert "17.3" not in text and "ki67" not in text and "depression" not in text


def test_audit_risk_none_leaves_the_risk_out(tmp_path):
    log = tmp_path / "audit.jsonl"
    client = make_client(audit_log=log, audit_risk="none")
    client.post("/api/v1/predict", json=FINDINGS)
    client.post("/partials/result", data={"surface_depression": "1", "ki67_percent": "17.3", "cga_positive": "0"})
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [set(line) for line in lines] == [{"time", "channel", "model_id", "model_sha256"}] * 2


@pytest.mark.parametrize("path", ["/", "/embed", "/partials/result", "/m/rnet-demo-v1/partials/result"])
@pytest.mark.parametrize(
    "headers", [{"origin": "https://evil.example"}, {"sec-fetch-site": "cross-site"}], ids=["origin", "fetch-site"]
)
def test_cross_site_posts_never_write_audit_lines(tmp_path, path, headers):
    log = tmp_path / "audit.jsonl"
    client = make_client(audit_log=log)
    form = {"surface_depression": "1", "ki67_percent": "17.3", "cga_positive": "0"}
    assert client.post(path, data=form, headers=headers).status_code == 403
    assert log.read_text() == ""
    assert client.post(path, data=form).status_code == 200  # the same form from the page itself is recorded
    assert len(log.read_text().splitlines()) == 1


@pytest.mark.parametrize(("mode", "key"), [("displayed", "audit_note_displayed"), ("none", "audit_note_none")])
def test_model_card_says_the_audit_log_must_be_protected(tmp_path, mode, key):
    import html

    from app.web.i18n import STRINGS

    page = html.unescape(make_client(audit_log=tmp_path / "audit.jsonl", audit_risk=mode).get("/model").text)
    assert STRINGS["en"][key] in page
    assert "protected like clinical data" in STRINGS["en"][key]
    assert "audit-note" not in make_client().get("/model").text  # no audit log, no sentence


def test_readme_no_longer_claims_the_audit_log_is_free_of_clinical_data():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "never the findings" not in readme and "without findings" not in readme
    assert "protect it like clinical data" in readme and "RNET_AUDIT_RISK" in readme


def test_unwritable_audit_log_stops_the_server_with_a_message(tmp_path):
    from app.model.artifact import ArtifactError

    with pytest.raises(ArtifactError, match="RNET_AUDIT_LOG"):
        make_client(audit_log=tmp_path / "no-such-folder" / "audit.jsonl")


def test_two_workers_serve_and_sigterm_stops_them_cleanly():
    port = free_port()
    log = tempfile.TemporaryFile()
    server = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port)],
        cwd=REPO, env={**os.environ, "RNET_WORKERS": "2"}, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for(f"http://127.0.0.1:{port}/readyz", seconds=60)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/predict",
            data=json.dumps(FINDINGS).encode(),
            headers={"content-type": "application/json"},
        )
        for _ in range(10):
            with urllib.request.urlopen(request) as response:
                assert response.status == 200
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
    finally:
        if server.poll() is None:
            server.kill()
        log.seek(0)
        output = log.read().decode(errors="replace")
        log.close()
    access = [json.loads(line) for line in output.splitlines() if line.startswith('{"method"')]
    assert [(a["method"], a["status"]) for a in access if a["path"] == "/api/v1/predict"] == [("POST", 200)] * 10
    assert '"path": "/api/v1/predict"' in output and "17.3" not in output
