"""An installed wheel works from any directory: templates, static files and the default artifact ride inside it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, free_port, wait_for


def test_wheel_serves_from_another_directory(tmp_path: Path):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(REPO)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    wheel = next(wheels.glob("rnet_calculator-*.whl"))
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run(
        [sys.executable, "-c", "import app, app.resources as r; print(app.__file__); print(r.default_artifact_path())"],
        cwd=elsewhere, env=env, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert all(path.startswith(str(site)) for path in where), where
    port = free_port()
    script = site / "bin" / "rnet"
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, str(script), "serve", "--port", str(port)],
        cwd=elsewhere, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        assert b"ok" in wait_for(f"http://127.0.0.1:{port}/healthz")
        page = wait_for(f"http://127.0.0.1:{port}/").decode()
        assert "Demonstration model" in page
        assert b"--accent" in wait_for(f"http://127.0.0.1:{port}/static/css/app.css")
        assert "rnet-demo-v1" in wait_for(f"http://127.0.0.1:{port}/api/v1/model").decode()
    finally:
        server.terminate()
        server.wait(timeout=15)
        log.close()
