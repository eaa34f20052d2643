"""Server settings from RNET_* environment variables, validated at start-up."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.resources import default_artifact_path

# Findings are three small fields: anything bigger than this is not a patient.
DEFAULT_MAX_BODY_BYTES = 16 * 1024
# A client gets this long to send a request's headers (also when it sends nothing at all); slow clients
# belong behind a reverse proxy, which buffers them.
DEFAULT_HEADER_TIMEOUT_SECONDS = 10

# scheme://host[:port] and nothing else: the value goes verbatim into the Content-Security-Policy header
# and into postMessage's target origin, so a ';', a space, a path or a wildcard must never get through.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
ORIGIN = re.compile(rf"https?://(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{{1,5}})?/?")
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# Goes into every link of every page: path segments of unreserved characters only.
ROOT_PATH = re.compile(r"(?:/[A-Za-z0-9._~-]+)*")
# A FHIR token `system|code`: the system an absolute URI (or urn:), the code without spaces or '|'.  Both go
# into the prefetch query string, so characters that would need escaping there are refused.
FHIR_TOKEN = re.compile(r"(?P<system>(?:https?://|urn:)[A-Za-z0-9._~:/%-]+)\|(?P<code>[A-Za-z0-9._~:-]+)")
# The project's own code system: nobody else's meaning is claimed.  A hospital maps its own (local or
# LOINC) codes with the settings; a LOINC code is not shipped because none was verified against the table.
PROJECT_CODE_SYSTEM = "https://rnet-calculator.example/fhir/CodeSystem/findings"


def _port_in_range(origin: str) -> bool:
    try:
        return (urlsplit(origin).port or 1) <= 65535
    except ValueError:
        return False


class Settings(BaseSettings):
    """Every setting, its environment variable and its meaning (also in the README's table).

    RNET_ARTIFACT          model artifact JSON served at / (default: the first of RNET_ARTIFACTS, else the shipped demonstration)
    RNET_ARTIFACTS         further artifacts served side by side at /m/{model_id}/ (space- or comma-separated paths)
    RNET_FRAME_ANCESTORS   space- or comma-separated origins allowed to embed the pages in an iframe
                           (default: none but the calculator's own origin)
    RNET_DEFAULT_LANGUAGE  en or zh, when neither ?lang= nor Accept-Language decides
    RNET_ROOT_PATH         path prefix when served behind a reverse proxy (e.g. /rnet)
    RNET_LOG_LEVEL         debug, info, warning or error
    RNET_MAX_BODY_BYTES    largest request body accepted (default 16384)
    RNET_HOST, RNET_PORT   where `rnet serve` listens (default 127.0.0.1:8000)
    RNET_WORKERS           server processes (default 1; about one per core)
    RNET_AUDIT_LOG         file to append one line per prediction: time, channel, model id and SHA-256, and the risk
                           as displayed; derived from the findings, so protect it like clinical data
    RNET_AUDIT_RISK        displayed (the risk as the page shows it, one decimal) or none (no risk in the line)
    RNET_ARTIFACT_SHA256   SHA-256 digest(s) the deployment expects; an artifact with any other digest is refused
    RNET_HEADER_TIMEOUT    seconds a client gets to send a request's headers before the connection is closed
    RNET_CDS_ALLOWED_ORIGINS  origins of browser-based EHRs allowed to call the CDS Hooks service (CORS)
    RNET_FHIR_CODE_SURFACE_DEPRESSION, RNET_FHIR_CODE_KI67, RNET_FHIR_CODE_CGA
                           the Observation code of each finding as system|code (prefetch queries and reading)
    RNET_PUBLIC_URL        the address clinicians reach the calculator at (e.g. https://rnet.hospital.org/rnet), for
                           the absolute links in CDS cards; default: the address the request came to
    """

    model_config = SettingsConfigDict(env_prefix="RNET_", extra="ignore")

    artifact: Path | None = None
    artifacts: str = ""
    frame_ancestors: str = ""
    default_language: Literal["en", "zh"] = "en"
    root_path: str = ""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=1024, le=1024 * 1024)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    audit_log: Path | None = None
    audit_risk: Literal["displayed", "none"] = "displayed"
    artifact_sha256: str = ""
    header_timeout: int = Field(default=DEFAULT_HEADER_TIMEOUT_SECONDS, ge=1, le=300)
    cds_allowed_origins: str = ""
    fhir_code_surface_depression: str = f"{PROJECT_CODE_SYSTEM}|surface-depression"
    fhir_code_ki67: str = f"{PROJECT_CODE_SYSTEM}|ki67-percent"
    fhir_code_cga: str = f"{PROJECT_CODE_SYSTEM}|cga-positive"
    public_url: str = ""

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        text = value.strip().rstrip("/")
        parts = urlsplit(text) if text else None
        origin = f"{parts.scheme}://{parts.netloc}" if parts else ""
        if text and (
            not ORIGIN.fullmatch(origin)
            or not _port_in_range(origin)
            or parts is None
            or parts.query
            or parts.fragment
            or not ROOT_PATH.fullmatch(parts.path)
        ):
            raise ValueError(
                f"'{value[:80]}' is not an address for links; give scheme, host, optional port and optional path, "
                "e.g. https://rnet.hospital.org or https://intranet.example.org/rnet"
            )
        return text

    @field_validator("frame_ancestors", "cds_allowed_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        for origin in value.replace(",", " ").split():
            if not ORIGIN.fullmatch(origin) or not _port_in_range(origin):
                raise ValueError(
                    f"'{origin[:80]}' is not an origin; give scheme, host and optional port only, "
                    "e.g. https://intranet.example.org or http://10.0.0.5:8080"
                )
        return value

    @field_validator("fhir_code_surface_depression", "fhir_code_ki67", "fhir_code_cga")
    @classmethod
    def _fhir_token(cls, value: str) -> str:
        if not FHIR_TOKEN.fullmatch(value.strip()):
            raise ValueError(
                f"'{value[:80]}' is not a FHIR code as system|code; give the code system's URI, a '|' and the code, "
                "e.g. http://loinc.org|12345-6 or https://his.example.org/codes|KI67"
            )
        return value.strip()

    @field_validator("artifact_sha256")
    @classmethod
    def _digests(cls, value: str) -> str:
        for digest in value.replace(",", " ").split():
            if not SHA256_HEX.fullmatch(digest):
                raise ValueError(
                    f"'{digest[:80]}' is not a SHA-256 digest; give the 64 lowercase hexadecimal characters "
                    "shown by /readyz or in the artifact's 'sha256' field"
                )
        return value

    @field_validator("root_path")
    @classmethod
    def _root_path(cls, value: str) -> str:
        if value and (not value.startswith("/") or value.endswith("/")):
            raise ValueError("must start with '/' and not end with '/', e.g. /rnet")
        if not ROOT_PATH.fullmatch(value):
            raise ValueError("may hold only letters, digits and . _ ~ - between the slashes, e.g. /rnet")
        return value

    @property
    def artifact_paths(self) -> list[Path]:
        """Every artifact to serve, the default first."""
        extra = [Path(p) for p in self.artifacts.replace(",", " ").split()]
        default = self.artifact or (extra[0] if extra else default_artifact_path())
        return [default, *[p for p in extra if p != default]]

    @property
    def frame_ancestor_origins(self) -> list[str]:
        return [o.rstrip("/") for o in self.frame_ancestors.replace(",", " ").split()]

    @property
    def cds_origins(self) -> list[str]:
        return [o.rstrip("/") for o in self.cds_allowed_origins.replace(",", " ").split()]

    @property
    def fhir_codes(self) -> dict[str, tuple[str, str]]:
        """Finding name → (system, code) of the Observations that record it."""
        tokens = {
            "surface_depression": self.fhir_code_surface_depression,
            "ki67_percent": self.fhir_code_ki67,
            "cga_positive": self.fhir_code_cga,
        }
        return {name: (token.split("|")[0], token.split("|")[1]) for name, token in tokens.items()}

    @property
    def expected_digests(self) -> frozenset[str]:
        """The digests RNET_ARTIFACT_SHA256 pins (empty: any verified artifact is served)."""
        return frozenset(self.artifact_sha256.replace(",", " ").split())
