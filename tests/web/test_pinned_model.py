"""One verified model per id: `rnet serve` pins the digests its parent verified, in every worker.

The swap tests run a real server with two workers, replace the artifact file under the same model id
(as Kubernetes does with a mounted ConfigMap) and make a worker start again.  Every answer must still
come from the verified bytes, and the server must stop (exit 2, one message, no traceback) rather than
answer from two files.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.model.artifact import ArtifactError, digest
from app.web.pinning import PIN_VARIABLE, ModelChangedError, pin_text
from tests.conftest import DEMO_ARTIFACT, REPO, free_port, wait_for
from tests.web.conftest import make_client

FINDINGS = json.dumps({"surface_depression": True, "ki67_percent": 5, "cga_positive": True})
DEMO_SHA = json.loads(DEMO_ARTIFACT.read_text())["sha256"]


def other_bytes_same_id(path: Path) -> str:
    """A valid, verified artifact with the demo's model id but another intercept; returns its digest."""
    data = json.loads(DEMO_ARTIFACT.read_text())
    data["coefficients"]["intercept"] += 1.0
    data["coefficient_table"][0]["beta"] += 1.0
    data["nomogram"]["lp_at_zero_points"] += 1.0
    data["sha256"] = digest(data)
    path.write_text(json.dumps(data))
    return data["sha256"]


def worker_pids(parent: int) -> list[int]:
    """The uvicorn worker processes (multiprocessing children, not its resource tracker)."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    pids = []
    for pid in map(int, children):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"multiprocessing" in command and b"resource_tracker" not in command:
            pids.append(pid)
    return pids


def predict_sha(port: int) -> str | None:
    """The X-Model-SHA256 of one prediction, or None when the server no longer answers."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("POST", "/api/v1/predict", body=FINDINGS, headers={"content-type": "application/json"})
        response = connection.getresponse()
        response.read()
    except OSError:  # the server is stopping: the socket must still be closed (ResourceWarning is an error)
        return None
    finally:
        connection.close()
    assert response.status == 200
    return response.getheader("x-model-sha256")


@pytest.mark.parametrize("restart", ["kill-one-worker", "add-a-fresh-worker"])
def test_replaced_file_never_answers_under_the_same_id_and_the_server_stops(tmp_path, restart):
    artifact = tmp_path / "model.json"
    artifact.write_bytes(DEMO_ARTIFACT.read_bytes())
    port = free_port()
    stderr = (tmp_path / "stderr.txt").open("w+")
    server = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port), "--artifact", str(artifact)],
        cwd=REPO, env={**os.environ, "RNET_WORKERS": "2", "RNET_LOG_LEVEL": "warning"},
        stdout=subprocess.DEVNULL, stderr=stderr,
    )  # fmt: skip
    try:
        wait_for(f"http://127.0.0.1:{port}/readyz", seconds=60)
        deadline = time.monotonic() + 30
        while len(worker_pids(server.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        workers = worker_pids(server.pid)
        assert len(workers) == 2
        answers = [predict_sha(port) for _ in range(10)]
        assert answers == [DEMO_SHA] * 10

        staged = tmp_path / "staged.json"
        new_sha = other_bytes_same_id(staged)
        os.replace(staged, artifact)  # an atomic swap, as a ConfigMap update
        if restart == "kill-one-worker":
            os.kill(workers[0], signal.SIGKILL)
        else:
            os.kill(server.pid, signal.SIGTTIN)  # uvicorn starts one more worker

        deadline = time.monotonic() + 60
        while server.poll() is None and time.monotonic() < deadline:
            sha = predict_sha(port)
            if sha is not None:
                answers.append(sha)
            if sha == new_sha:
                break
        assert new_sha not in answers
        assert server.wait(timeout=30) == 2
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        stderr.seek(0)
        output = stderr.read()
        stderr.close()
    assert new_sha not in answers and set(answers) == {DEMO_SHA}
    assert "changed on disk after `rnet serve` verified it" in output
    assert "model id 'rnet-demo-v1'" in output and new_sha[:16] in output
    assert "Traceback" not in output


def test_a_worker_with_a_different_file_refuses_without_traceback(monkeypatch, capsys):
    """In-process (RNET_WORKERS=1): exit 2; a worker process of another parent: uvicorn's start-up failure, 3."""
    from app.web.server import worker_app

    monkeypatch.setenv("RNET_ARTIFACT", str(DEMO_ARTIFACT))
    monkeypatch.setenv(PIN_VARIABLE, pin_text({"rnet-demo-v1": "0" * 64}, parent_pid=os.getpid()))
    with pytest.raises(SystemExit) as exited:
        worker_app()
    assert exited.value.code == 2
    message = capsys.readouterr().err
    assert message.startswith("error: a model artifact changed on disk") and "sha256 0000000000000000" in message
    not_our_parent = 4_000_000  # above Linux's pid_max: nobody's pid, so nothing is signalled
    monkeypatch.setenv(PIN_VARIABLE, pin_text({"rnet-demo-v1": "0" * 64}, parent_pid=not_our_parent))
    with pytest.raises(SystemExit) as exited:
        worker_app()
    assert exited.value.code == 3


def test_a_worker_with_the_verified_file_starts(monkeypatch):
    from app.web.server import worker_app

    monkeypatch.setenv("RNET_ARTIFACT", str(DEMO_ARTIFACT))
    monkeypatch.setenv(PIN_VARIABLE, pin_text({"rnet-demo-v1": DEMO_SHA}, parent_pid=os.getpid()))
    assert worker_app().state.registry.default.sha256 == DEMO_SHA


@pytest.mark.parametrize(
    "pinned",
    [{"rnet-demo-v1": "f" * 64}, {"rnet-demo-v1": DEMO_SHA, "second": DEMO_SHA}, {"other-id": DEMO_SHA}],
    ids=["other-digest", "a-model-gone", "other-id"],
)
def test_pins_must_match_exactly(monkeypatch, pinned):
    monkeypatch.setenv(PIN_VARIABLE, pin_text(pinned, parent_pid=1))
    with pytest.raises(ModelChangedError, match="changed on disk"):
        make_client()


def test_rnet_artifact_sha256_pins_what_a_deployment_expects():
    assert make_client(artifact_sha256=DEMO_SHA).get("/readyz").json()["models"] == {"rnet-demo-v1": DEMO_SHA}
    assert make_client(artifact_sha256=f"{'a' * 64}, {DEMO_SHA}").get("/readyz").status_code == 200
    with pytest.raises(ArtifactError, match=f"'rnet-demo-v1' has SHA-256 {DEMO_SHA}"):
        make_client(artifact_sha256="a" * 64)


def serve_once(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app", "serve", "--port", "1", *args],
        cwd=REPO, capture_output=True, text=True, timeout=60, env={**os.environ, **env},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("value", "expected"),
    [("b" * 64, "RNET_ARTIFACT_SHA256 pins the digest(s)"), ("not-a-digest", "RNET_ARTIFACT_SHA256: ")],
)
def test_serve_refuses_an_unexpected_digest_with_exit_2(value, expected):
    result = serve_once(env={"RNET_ARTIFACT_SHA256": value})
    assert result.returncode == 2
    assert expected in result.stderr and "Traceback" not in result.stderr


def test_a_connection_that_sends_nothing_is_closed(tmp_path):
    """Closure within a generous bound, not a timing figure: the server must not keep it for ever."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port)],
        cwd=REPO, env={**os.environ, "RNET_HEADER_TIMEOUT": "1", "RNET_LOG_LEVEL": "warning"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(f"http://127.0.0.1:{port}/readyz", seconds=60)
        silent = socket.create_connection(("127.0.0.1", port))
        partial = socket.create_connection(("127.0.0.1", port))
        partial.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # headers never finished
        for connection in (silent, partial):
            connection.settimeout(30)
            assert connection.recv(1024) == b""  # closed by the server, not timed out here
            connection.close()
        # A request sent in time is still answered.
        assert json.loads(wait_for(f"http://127.0.0.1:{port}/healthz")) == {"status": "ok"}
    finally:
        server.terminate()
        server.wait(timeout=30)
