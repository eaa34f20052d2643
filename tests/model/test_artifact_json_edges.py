"""Artifacts that are JSON but not artifacts: refused with a message (exit 2 at the command line), never a crash."""

from __future__ import annotations

import pytest

from app.cli import main
from app.model.artifact import ArtifactError, load_artifact
from tests.conftest import DEMO_ARTIFACT


def test_an_overflowing_number_is_refused(tmp_path):
    path = tmp_path / "big.json"
    path.write_text(DEMO_ARTIFACT.read_text(encoding="utf-8").replace('"n": 213', '"n": 213, "huge": 1e999', 1))
    with pytest.raises(ArtifactError, match=r"is not valid JSON \(the number 1e999 is too large\)"):
        load_artifact(path)


def test_deep_nesting_is_refused(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ArtifactError, match="nested far deeper than an artifact is"):
        load_artifact(path)


def test_serve_exits_2_on_them(tmp_path, capsys):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    assert main(["serve", "--artifact", str(path), "--port", "1"]) == 2
    assert "nested far deeper than an artifact is" in capsys.readouterr().err
