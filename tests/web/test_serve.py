"""`rnet serve` refuses bad artifacts and bad settings before it listens."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import DEMO_ARTIFACT, REPO


def serve(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [sys.executable, "-m", "app", "serve", "--port", "1", *args],
        cwd=REPO, capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})},
    )  # fmt: skip


def _variant(tmp_path, name, mutate):
    data = json.loads(DEMO_ARTIFACT.read_text())
    text = mutate(data)
    path = tmp_path / name
    path.write_text(text if isinstance(text, str) else json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("name", "mutate", "expected"),
    [
        ("missing.json", None, "does not exist"),
        ("truncated.json", lambda d: json.dumps(d)[:500], "not valid JSON"),
        ("tampered.json", lambda d: d["coefficients"].update(intercept=0.0), "fails verification"),
        ("schema.json", lambda d: d.update(schema_version=7), "schema_version 7"),
    ],
)
def test_bad_artifact_is_refused_with_exit_2(tmp_path, name, mutate, expected):
    path = tmp_path / name if mutate is None else _variant(tmp_path, name, mutate)
    result = serve("--artifact", str(path))
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_setting_is_refused_naming_the_variable():
    result = serve(env={"RNET_FRAME_ANCESTORS": "not-an-origin"})
    assert result.returncode == 2
    assert "RNET_FRAME_ANCESTORS" in result.stderr
