"""The artifact file: digest, schema, atomic writes, refusal messages."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from app.errors import UserInputError
from app.model import artifact as artifact_module
from app.model.artifact import (
    ArtifactError,
    canonical_json,
    digest,
    load_artifact,
    render,
    with_digest,
    write_artifact,
    write_atomic,
)
from app.stats.published import artifact_from_spec
from tests.conftest import DEMO_ARTIFACT
from tests.stats.test_published import SPEC


@pytest.fixture
def demo_data() -> dict:
    return json.loads(DEMO_ARTIFACT.read_text(encoding="utf-8"))


def test_shipped_artifact_verifies_and_round_trips_bit_for_bit(tmp_path, demo_data):
    loaded = load_artifact(DEMO_ARTIFACT)
    assert loaded.sha256 == demo_data["sha256"] == digest(demo_data)
    target = tmp_path / "copy.json"
    write_artifact(target, demo_data)
    assert target.read_bytes() == DEMO_ARTIFACT.read_bytes()
    assert render(loaded.model_dump(mode="json")) == DEMO_ARTIFACT.read_bytes()


def test_canonical_json_is_key_order_independent():
    assert canonical_json({"b": 1, "a": [1.5, None]}) == canonical_json({"a": [1.5, None], "b": 1})
    assert canonical_json({"a": 0.1}) == b'{"a":0.1}'


def test_tampered_coefficient_is_refused(tmp_path, demo_data):
    demo_data["coefficients"]["ki67_percent"] *= 1.01
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(demo_data), encoding="utf-8")
    with pytest.raises(ArtifactError, match="fails verification: its SHA-256 does not match"):
        load_artifact(path)


def test_wrong_schema_version_is_refused(tmp_path, demo_data):
    demo_data["schema_version"] = 2
    demo_data["sha256"] = digest(demo_data)
    path = tmp_path / "v2.json"
    path.write_text(json.dumps(demo_data), encoding="utf-8")
    with pytest.raises(ArtifactError, match="schema_version 2; this program reads schema_version 1"):
        load_artifact(path)


def test_schema_violation_with_valid_digest_names_the_field(tmp_path, demo_data):
    del demo_data["covariance"][0][0]
    demo_data["sha256"] = digest(demo_data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(demo_data), encoding="utf-8")
    with pytest.raises(ArtifactError, match="does not follow schema version 1.*covariance"):
        load_artifact(path)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"schema_version": 1, "coeff', "not valid JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
def test_truncated_or_foreign_files_are_refused(tmp_path, content, expected):
    path = tmp_path / "a.json"
    path.write_bytes(content)
    with pytest.raises(ArtifactError, match=expected):
        load_artifact(path)


def test_missing_artifact_says_where_to_look(tmp_path):
    with pytest.raises(ArtifactError, match="does not exist"):
        load_artifact(tmp_path / "none.json")


def test_refuses_to_overwrite_without_force(tmp_path):
    target = tmp_path / "a.json"
    target.write_bytes(b"old")
    with pytest.raises(UserInputError, match="--force"):
        write_atomic(target, b"new")
    write_atomic(target, b"new", force=True)
    assert target.read_bytes() == b"new"


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "a.json"
    target.write_bytes(b"old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(artifact_module.os, "replace", broken_replace)
    with pytest.raises(UserInputError, match="nothing was written"):
        write_atomic(target, b"new content", force=True)
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["a.json"]


def test_a_folder_is_not_a_file_name(tmp_path):
    with pytest.raises(UserInputError, match="is a folder"):
        write_atomic(tmp_path, b"x", force=True)


def test_written_file_follows_the_umask_not_mkstemps_0600(tmp_path):
    target = tmp_path / "a.json"
    previous = os.umask(0o022)
    try:
        write_atomic(target, b"x")
    finally:
        os.umask(previous)
    assert target.stat().st_mode & 0o777 == 0o644


def test_loaded_copy_in_another_folder_verifies(tmp_path):
    copy = tmp_path / "x.json"
    shutil.copy(DEMO_ARTIFACT, copy)
    assert load_artifact(copy).model_id == "rnet-demo-v1"


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("beta", -5.0, "nomogram axis 'ki67_percent' does not match its coefficient"),
        ("min_contribution", 1.0, "nomogram axis 'ki67_percent' has an inconsistent lowest contribution"),
    ],
)
def test_nomogram_that_contradicts_the_coefficients_is_refused(tmp_path, field, value, problem):
    """The calculator draws the nomogram from these fields: an axis that disagrees with the
    coefficients (Ki-67's β is 0.25, its axis [0, 17], so its lowest contribution 0) is refused
    even with a valid digest."""
    data, _ = artifact_from_spec(SPEC, created_at="2026-01-01T00:00:00Z")
    data = with_digest(data)
    data["nomogram"]["axes"][1][field] = value
    data["sha256"] = digest(data)
    path = tmp_path / "n.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ArtifactError) as caught:
        load_artifact(path)
    assert str(caught.value) == (
        f"model artifact '{path}' does not follow schema version 1 at '(top level)': Value error, {problem}. "
        "Re-create it with `python -m app train` or `python -m app from-coefficients`."
    )
