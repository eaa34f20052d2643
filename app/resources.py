"""Where the templates, static assets and shipped artifacts live.

In a source checkout they sit beside the package (the layout the design card
fixes); in an installed wheel they are carried inside it (see the
force-include mapping in pyproject.toml).  Looking in the package first makes
`rnet serve` work from any directory.
"""

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent

DEFAULT_ARTIFACT_NAME = "rnet-demo-v1.json"


def resource_dir(name: str) -> Path:
    """Return the directory `name` (templates, static, model_artifacts)."""
    for candidate in (_PACKAGE_DIR / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"resource folder '{name}' is missing from the installation")


def default_artifact_path() -> Path:
    """The shipped demonstration artifact."""
    return resource_dir("model_artifacts") / DEFAULT_ARTIFACT_NAME
