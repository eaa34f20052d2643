"""The shipped demonstration model is re-made bit-for-bit by the project's own commands."""

from __future__ import annotations

import json

from app.cli import main
from tests.conftest import DEMO_ARTIFACT, DEMO_COHORT, REPO


def _recipe() -> list[list[str]]:
    """The two commands of model_artifacts/README.md, read from the README itself."""
    text = (REPO / "model_artifacts" / "README.md").read_text(encoding="utf-8")
    block = text.split("```")[1].replace("\\\n", " ")
    return [line.split()[3:] for line in block.strip().splitlines() if line.startswith("python -m app")]


def test_default_cohort_and_artifact_are_reproduced_exactly(tmp_path):
    simulate, train = _recipe()
    assert simulate[0] == "simulate" and train[0] == "train"
    cohort = tmp_path / DEMO_COHORT.name  # the file name is part of the provenance
    out = tmp_path / "model.json"
    simulate[simulate.index("--out") + 1] = str(cohort)
    assert main(simulate) == 0
    assert cohort.read_bytes() == DEMO_COHORT.read_bytes()
    train = " ".join(train).split(" --notes ")[0].split()
    notes = json.loads(DEMO_ARTIFACT.read_text(encoding="utf-8"))["provenance"]["notes"]
    train[train.index("--data") + 1] = str(cohort)
    train[train.index("--out") + 1] = str(out)
    assert main([*train, "--notes", notes]) == 0
    made = json.loads(out.read_text(encoding="utf-8"))
    shipped = json.loads(DEMO_ARTIFACT.read_text(encoding="utf-8"))
    if made["provenance"]["software"] != shipped["provenance"]["software"]:
        raise AssertionError(
            "software versions differ from those the shipped artifact was made with "
            f"({made['provenance']['software']} vs {shipped['provenance']['software']}); install constraints.txt "
            "or re-make the artifact with the commands in model_artifacts/README.md"
        )
    assert out.read_bytes() == DEMO_ARTIFACT.read_bytes()


def test_shipped_model_is_labelled_a_demonstration():
    shipped = json.loads(DEMO_ARTIFACT.read_text(encoding="utf-8"))
    assert shipped["provenance"]["source"] == "synthetic-demo"
    assert "not on the study's data" in shipped["provenance"]["notes"]
