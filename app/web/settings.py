"""Server settings from RNET_* environment variables, validated at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.resources import default_artifact_path

# Findings are three small fields: anything bigger than this is not a patient.
DEFAULT_MAX_BODY_BYTES = 16 * 1024


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
    RNET_AUDIT_LOG         file to append one line per prediction: time, model id and SHA-256, risk (never findings)
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

    @field_validator("frame_ancestors")
    @classmethod
    def _origins(cls, value: str) -> str:
        for origin in value.replace(",", " ").split():
            if not (origin.startswith(("https://", "http://")) and "/" not in origin.split("://", 1)[1].rstrip("/")):
                raise ValueError(
                    f"'{origin}' is not an origin; give scheme and host only, e.g. https://intranet.example.org"
                )
        return value

    @field_validator("root_path")
    @classmethod
    def _root_path(cls, value: str) -> str:
        if value and (not value.startswith("/") or value.endswith("/")):
            raise ValueError("must start with '/' and not end with '/', e.g. /rnet")
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
