"""Operations: model identity headers, the audit log without findings, workers, SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import urllib.request

from tests.conftest import REPO, free_port, wait_for
from tests.web.conftest import make_client

FINDINGS = {"surface_depression": True, "ki67_percent": 17.3, "cga_positive": True}


def test_answers_name_the_model_in_headers(client):
    response = client.post("/api/v1/predict", json=FINDINGS)
    assert response.headers["x-model-id"] == "rnet-demo-v1"
    assert response.headers["x-model-sha256"] == response.json()["model"]["sha256"]
    assert client.get("/").headers["x-model-id"] == "rnet-demo-v1"
    assert client.get("/api/v1/model").json()["app_version"]


def test_audit_log_records_model_and_risk_but_never_findings(tmp_path):
    log = tmp_path / "audit.jsonl"
    client = make_client(audit_log=log)
    risk = client.post("/api/v1/predict", json=FINDINGS).json()["probability"]
    client.post("/", data={"surface_depression": "1", "ki67_percent": "17.3", "cga_positive": "unknown"})
    client.get("/")  # no result, no line
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line["channel"] for line in lines] == ["api", "page"]
    assert lines[0]["risk"] == round(risk, 6) and lines[0]["model_id"] == "rnet-demo-v1"
    assert len(lines[1]["risk_range"]) == 2
    text = log.read_text()
    assert "17.3" not in text and "ki67" not in text and "depression" not in text


def test_unwritable_audit_log_stops_the_server_with_a_message(tmp_path):
    import pytest

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
    assert '"path": "/api/v1/predict"' in output and "17.3" not in output
