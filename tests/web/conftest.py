"""A fresh app per test (application factory), built from settings made in code."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

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
