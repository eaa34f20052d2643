"""The Dockerfile and the Kubernetes manifest: linted here, and the Dockerfile's own install and
start commands executed in a fresh virtual environment (no Docker engine runs on our machines)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import yaml

from tests.conftest import REPO, free_port, wait_for

DOCKERFILE = (REPO / "Dockerfile").read_text(encoding="utf-8")


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = DOCKERFILE.replace("\\\n", " ")
    rows = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            rows.append((keyword.upper(), rest.strip()))
    return rows


def test_dockerfile_lint():
    rows = instructions()
    keywords = [k for k, _ in rows]
    base = dict(rows)["FROM"]
    assert base.startswith("python:3.") and base.endswith("-slim"), "a pinned, slim Python base"
    assert ":latest" not in DOCKERFILE
    assert "ADD" not in keywords, "COPY, not ADD (no remote fetches or tar magic)"
    runs = [args for k, args in rows if k == "RUN"]
    assert any("pip install -c constraints.txt" in r for r in runs), "dependencies pinned by constraints.txt"
    assert keywords.index("USER") < keywords.index("CMD"), "runs as a non-root user"
    assert dict(rows)["USER"] not in ("root", "0")
    assert "/healthz" in dict(rows)["HEALTHCHECK"]
    assert dict(rows)["CMD"].startswith("["), "exec form, so SIGTERM reaches the server"
    assert "RNET_WORKERS" in DOCKERFILE and "EXPOSE" in keywords


def test_dockerfile_install_and_start_commands_work_in_a_fresh_environment(tmp_path):
    """Copy what the Dockerfile copies, run its pip install in a new venv, start its CMD, ask /healthz."""
    rows = instructions()
    work = tmp_path / "srv"
    work.mkdir()
    for keyword, args in rows:
        if keyword == "COPY":
            *sources, target = shlex.split(args)
            for source in sources:
                destination = work / target if target not in ("./", ".") else work
                src = REPO / source
                if src.is_dir():
                    subprocess.run(
                        ["cp", "-r", str(src), str(work / Path(target).name if target != "./" else work)], check=True
                    )
                else:
                    subprocess.run(["cp", str(src), str(destination)], check=True)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    install = next(args for k, args in rows if k == "RUN" and "pip install" in args).split("&&")[0].strip()
    env = {**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PYTHONPATH", None)
    result = subprocess.run(install, shell=True, cwd=work, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    port = free_port()
    command = json.loads(dict(rows)["CMD"])
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    log = tempfile.TemporaryFile()
    server = subprocess.Popen(command, cwd=outside, env={**env, "RNET_PORT": str(port), "RNET_WORKERS": "1"},
                              stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", seconds=60)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz") as response:
            assert json.loads(response.read())["status"] == "ready"
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_kubernetes_manifest_has_probes_resources_and_config():
    documents = list(yaml.safe_load_all((REPO / "deploy" / "kubernetes.yaml").read_text()))
    kinds = {d["kind"]: d for d in documents}
    assert {"ConfigMap", "Deployment", "Service"} <= set(kinds)
    container = kinds["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["requests"] and container["resources"]["limits"]
    assert container["envFrom"][0]["configMapRef"]["name"] == kinds["ConfigMap"]["metadata"]["name"]
    from app.web.settings import Settings

    assert all(key.removeprefix("RNET_").lower() in Settings.model_fields for key in kinds["ConfigMap"]["data"])
