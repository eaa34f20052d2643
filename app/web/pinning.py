"""One verified model per id in every worker process.

`rnet serve` verifies each artifact once, in the parent process, and hands
the resulting {model id: SHA-256} map to its workers in an environment
variable.  A worker (re)started later re-reads the files; if it finds other
bytes under an id (Kubernetes updates a mounted ConfigMap in place, an
operator copies a new file over the old one) it must not answer with them
while its siblings still answer with the old model.  So it refuses to start,
and the whole server stops: every answer under an id comes from the bytes
that were verified when the server started.

`RNET_ARTIFACT_SHA256` goes one step further: it names the digest(s) a
deployment expects, so even a fresh start refuses a file that differs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from app.model.artifact import ArtifactError

# Internal: written by `rnet serve` for its own workers; not a setting for people to use.
PIN_VARIABLE = "RNET_SERVE_PINNED_MODELS"


class ModelChangedError(ArtifactError):
    """An artifact's bytes differ from those the parent process verified."""


def pin_text(models: Mapping[str, str], *, parent_pid: int) -> str:
    """The environment value handed to the workers."""
    return json.dumps({"parent_pid": parent_pid, "models": dict(models)}, sort_keys=True)


def read_pin(text: str | None) -> tuple[int, dict[str, str]] | None:
    """(parent pid, {model id: sha256}) from the environment value, or None when unset or unreadable."""
    if not text:
        return None
    try:
        data = json.loads(text)
        models = {str(k): str(v) for k, v in data["models"].items()}
        return int(data["parent_pid"]), models
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def check_pinned(found: Mapping[str, str], pinned: Mapping[str, str]) -> None:
    """Refuse unless this process loaded exactly the models the parent verified."""
    if dict(found) == dict(pinned):
        return
    changed = sorted(mid for mid in set(found) | set(pinned) if found.get(mid) != pinned.get(mid))
    details = "; ".join(
        f"model id '{mid}': verified at start {_short(pinned.get(mid))}, now {_short(found.get(mid))}"
        for mid in changed
    )
    raise ModelChangedError(
        f"a model artifact changed on disk after `rnet serve` verified it ({details}). This worker refuses to "
        "start and the server stops, so that no answer under one model id comes from two different files. "
        "To serve a new model, give it a new model id and roll it out as a new deployment (see the README, "
        "'Deployment'); to go back, restore the original file and start the server again."
    )


def check_expected(found: Mapping[str, str], expected: frozenset[str]) -> None:
    """Refuse an artifact whose digest is not one RNET_ARTIFACT_SHA256 names (when it names any)."""
    if not expected:
        return
    unexpected = {mid: sha for mid, sha in found.items() if sha not in expected}
    if unexpected:
        listed = ", ".join(f"'{mid}' has SHA-256 {sha}" for mid, sha in sorted(unexpected.items()))
        raise ArtifactError(
            f"RNET_ARTIFACT_SHA256 pins the digest(s) {', '.join(sorted(expected))}, but the artifact {listed}. "
            "Either the file is not the model this deployment was approved for (restore it), or the deployment "
            "was meant to change: then set RNET_ARTIFACT_SHA256 to the new digest in the same roll-out."
        )


def _short(sha: str | None) -> str:
    return "absent" if sha is None else f"sha256 {sha[:16]}…"
