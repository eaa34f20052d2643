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
     ("RNET_MAX_BODY_BYTES", "10"), ("RNET_PORT", "99999"),
     # Header injection: each of these went verbatim into the Content-Security-Policy before.
     ("RNET_FRAME_ANCESTORS", "https://a.example;script-src"), ("RNET_FRAME_ANCESTORS", "https://a.example;"),
     ("RNET_FRAME_ANCESTORS", "https://*.example.org"), ("RNET_FRAME_ANCESTORS", "https://a.example/path"),
     ("RNET_FRAME_ANCESTORS", "https://a.example:99999"), ("RNET_FRAME_ANCESTORS", "javascript://a.example"),
     ("RNET_FRAME_ANCESTORS", "https://a.example?x"), ("RNET_FRAME_ANCESTORS", "https://user@a.example"),
     ("RNET_FRAME_ANCESTORS", "https://a.example\r\nSet-Cookie:x"), ("RNET_ROOT_PATH", "/rnet;x"),
     ("RNET_ROOT_PATH", '/a"b'), ("RNET_ARTIFACT_SHA256", "abc"), ("RNET_ARTIFACT_SHA256", "A" * 64),
     ("RNET_AUDIT_RISK", "full"), ("RNET_HEADER_TIMEOUT", "0"),
     # FHIR codes go into the prefetch query: system|code, nothing that would need escaping there.
     ("RNET_FHIR_CODE_KI67", "KI67"), ("RNET_FHIR_CODE_KI67", "http://loinc.org"), ("RNET_FHIR_CODE_KI67", "|KI67"),
     ("RNET_FHIR_CODE_CGA", "http://loinc.org|a b"), ("RNET_FHIR_CODE_CGA", "http://x.example/?a=1&b|c"),
     ("RNET_FHIR_CODE_SURFACE_DEPRESSION", "loinc|123"), ("RNET_FHIR_CODE_CGA", "http://x.example|c|d"),
     ("RNET_CDS_ALLOWED_ORIGINS", "*"), ("RNET_CDS_ALLOWED_ORIGINS", "https://ehr.example/path"),
     # The cards' links start with it: an address, nothing a link could be bent with.
     ("RNET_PUBLIC_URL", "rnet.hospital.org"), ("RNET_PUBLIC_URL", "https://rnet.hospital.org/a?b=1"),
     ("RNET_PUBLIC_URL", "https://rnet.hospital.org/#x"), ("RNET_PUBLIC_URL", "javascript://x.example"),
     ("RNET_PUBLIC_URL", "https://user@rnet.hospital.org"), ("RNET_PUBLIC_URL", 'https://a.example/"x')],
)  # fmt: skip
def test_bad_settings_are_refused(monkeypatch, env, value):
    monkeypatch.setenv(env, value)
    with pytest.raises(ValidationError):
        Settings()


@pytest.mark.parametrize(
    "value", ["https://a.example", "http://10.0.0.5:8080", "https://[::1]:8443", "https://his.example.org/"]
)
def test_origins_are_accepted(value):
    assert Settings(frame_ancestors=value).frame_ancestor_origins == [value.rstrip("/")]


def test_fhir_codes_are_read_as_system_and_code(monkeypatch):
    monkeypatch.setenv("RNET_FHIR_CODE_KI67", "urn:oid:1.2.156.112604|KI-67.PCT")
    monkeypatch.setenv("RNET_CDS_ALLOWED_ORIGINS", "https://ehr.example.org/, http://10.0.0.9:8080")
    settings = Settings()
    assert settings.fhir_codes["ki67_percent"] == ("urn:oid:1.2.156.112604", "KI-67.PCT")
    assert settings.fhir_codes["cga_positive"] == (
        "https://rnet-calculator.example/fhir/CodeSystem/findings",
        "cga-positive",
    )
    assert settings.cds_origins == ["https://ehr.example.org", "http://10.0.0.9:8080"]


def test_a_bad_fhir_code_is_refused_with_a_message_naming_the_form(monkeypatch):
    monkeypatch.setenv("RNET_FHIR_CODE_KI67", "KI67")
    with pytest.raises(ValidationError, match=r"fhir_code_ki67[\s\S]*system\|code"):
        Settings()


def test_settings_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("RNET_FRAME_ANCESTORS", "https://a.example.org https://b.example.org/")
    monkeypatch.setenv("RNET_DEFAULT_LANGUAGE", "zh")
    settings = Settings()
    assert settings.frame_ancestor_origins == ["https://a.example.org", "https://b.example.org"]
    assert settings.default_language == "zh"


@pytest.mark.parametrize(
    ("value", "kept"),
    [("https://rnet.hospital.org", "https://rnet.hospital.org"), ("https://intranet.example.org/rnet/", "https://intranet.example.org/rnet"),
     ("http://10.0.0.5:8080", "http://10.0.0.5:8080"), ("", "")],
)  # fmt: skip
def test_a_public_url_is_kept_without_its_trailing_slash(value, kept):
    assert Settings(public_url=value).public_url == kept
