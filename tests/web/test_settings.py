"""Settings: validated at start-up with a message naming the variable; all documented."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.web.settings import Settings
from tests.conftest import REPO


def test_every_setting_is_documented_in_the_readme():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"RNET_{name.upper()}" in readme, name


@pytest.mark.parametrize(
    ("env", "value"),
    [("RNET_FRAME_ANCESTORS", "intranet.example.org"), ("RNET_ROOT_PATH", "rnet/"), ("RNET_DEFAULT_LANGUAGE", "fr"),
     ("RNET_MAX_BODY_BYTES", "10"), ("RNET_PORT", "99999")],
)  # fmt: skip
def test_bad_settings_are_refused(monkeypatch, env, value):
    monkeypatch.setenv(env, value)
    with pytest.raises(ValidationError):
        Settings()


def test_settings_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("RNET_FRAME_ANCESTORS", "https://a.example.org https://b.example.org/")
    monkeypatch.setenv("RNET_DEFAULT_LANGUAGE", "zh")
    settings = Settings()
    assert settings.frame_ancestor_origins == ["https://a.example.org", "https://b.example.org"]
    assert settings.default_language == "zh"
