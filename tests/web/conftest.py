"""A fresh app per test (application factory), built from settings made in code."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.model.artifact import digest
from app.web import create_app
from app.web.settings import Settings
from tests.conftest import DEMO_ARTIFACT


def make_client(**settings: object) -> TestClient:
    """A client on a fresh app; RNET_ARTIFACT is the shipped demo unless RNET_ARTIFACTS is given."""
    if "artifacts" not in settings:
        settings.setdefault("artifact", DEMO_ARTIFACT)
    return TestClient(create_app(Settings(**settings)), raise_server_exceptions=False)


@pytest.fixture
def client() -> TestClient:
    return make_client()


def demo_artifact_with(tmp_path: Path, edit: Callable[[dict[str, Any]], None], name: str = "edited.json") -> Path:
    """The shipped demo artifact changed by `edit` and re-stamped with its digest (not re-checked on writing,
    so a test can also build one the loader must refuse)."""
    data = json.loads(DEMO_ARTIFACT.read_text(encoding="utf-8"))
    edit(data)
    data["sha256"] = digest(data)
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def published_artifact(tmp_path: Path) -> Path:
    """An artifact made by `rnet from-coefficients` from the published-model test spec."""
    from app.cli import main
    from tests.stats.test_published import SPEC

    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC), encoding="utf-8")
    out = tmp_path / "published.json"
    assert main(["from-coefficients", str(spec), "--out", str(out)]) == 0
    return out
