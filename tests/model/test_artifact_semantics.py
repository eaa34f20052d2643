"""A digest proves an artifact was not damaged, not that it makes sense: nonsense re-stamped with a valid
SHA-256 is refused at start with one message naming what is wrong."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from app.model.artifact import ArtifactError, digest, load_artifact, render
from tests.conftest import DEMO_ARTIFACT


def _restamped(tmp_path, change: Callable[[dict[str, Any]], None]):
    data = json.loads(DEMO_ARTIFACT.read_text(encoding="utf-8"))
    change(data)
    data["sha256"] = digest(data)
    path = tmp_path / "restamped.json"
    path.write_bytes(render(data))
    return path


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _not_positive_definite(data: dict[str, Any]) -> None:
    data["covariance"][1][1] = 0.0  # a zero variance: the matrix is singular
    data["covariance"][1][2] = data["covariance"][2][1] = 0.0
    data["covariance"][1][0] = data["covariance"][0][1] = 0.0
    data["covariance"][1][3] = data["covariance"][3][1] = 0.0


def _extra_table_row(data: dict[str, Any]) -> None:
    data["coefficient_table"].append({**data["coefficient_table"][1], "name": "tumor_size"})


BAD = [
    (_not_positive_definite, "covariance is not positive definite"),
    (_set(["performance", "auc"], 5.0), "performance.auc must lie between 0 and 1"),
    (_set(["performance", "events"], 500), "performance.events must lie between 0 and n"),
    (_set(["curves", "roc", "fpr"], []), "curves.roc: ['fpr', 'tpr'] must be non-empty lists of one length"),
    (_set(["curves", "decision"], {}), "curves.decision must hold the lists"),
    (_extra_table_row, "coefficient_table rows must be the terms"),
    (
        _set(["predictors", 1, "nomogram_range"], [-50.0, 20.0]),
        "nomogram_range must be ordered and within [0.0, 100.0]",
    ),
    (_set(["predictors", 1, "fitted_range"], [5.0, 1.0]), "fitted_range must be ordered and within allowed_range"),
    (_set(["provenance", "notes"], "x" * 10_001), "provenance.notes is longer than 10000 characters"),
]


@pytest.mark.parametrize(("change", "message"), BAD, ids=[message.split()[0] for _, message in BAD])
def test_restamped_nonsense_is_refused(tmp_path, change, message):
    path = _restamped(tmp_path, change)
    with pytest.raises(ArtifactError) as refused:
        load_artifact(path)
    assert message in str(refused.value)


def test_a_huge_file_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:
        handle.truncate(5_000_001)  # sparse: no disk used
    with pytest.raises(ArtifactError, match="is 5,000,001 bytes; an artifact is far smaller"):
        load_artifact(path)


def test_a_fifo_or_a_folder_is_refused_without_blocking(tmp_path):
    import os

    fifo = tmp_path / "artifact.fifo"
    os.mkfifo(fifo)
    for path in (fifo, tmp_path):
        with pytest.raises(ArtifactError, match="is not a regular file; give the path of the JSON file"):
            load_artifact(path)


def test_the_shipped_artifact_passes_every_check():
    assert load_artifact(DEMO_ARTIFACT).model_id == "rnet-demo-v1"
