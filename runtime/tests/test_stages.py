"""runtime.yaml: what computes each stage, so that a release or a library re-runs what it changes.

Each stage's entry is its revision in this runtime and the versions of the libraries that
shape its output; dvc.yaml reads the entries as parameters. A change must touch exactly
the entries of the stages it affects, and writing unchanged entries must change nothing.
"""

import importlib.metadata
import os
from pathlib import Path

import pytest
import yaml

from goldenpath.core import stages

MODEL_STAGES = {"train", "evaluate", "register"}


def changed(before: dict[str, str], after: dict[str, str]) -> set[str]:
    assert before.keys() == after.keys()
    return {stage for stage in before if before[stage] != after[stage]}


def versions_but(**changed_versions: str):
    """stages._version as installed, but with some libraries at other versions."""
    installed = stages._version

    def version(distribution: str) -> str:
        return changed_versions.get(distribution) or installed(distribution)

    return version


def test_each_stage_has_a_revision_and_its_libraries() -> None:
    assert stages.REVISIONS.keys() == stages.LIBRARIES.keys()
    assert set(stages.MODEL_STAGES) <= stages.REVISIONS.keys()
    entries = stages.fingerprints("sklearn")
    pandas = importlib.metadata.version("pandas")
    for stage, entry in entries.items():
        assert entry.startswith(f"goldenpath {stage}/{stages.REVISIONS[stage]}; ")
        assert f"pandas {pandas}" in entry
    assert "pandera" in entries["validate"] and "pandera" not in entries["train"]
    assert "mlflow" in entries["register"] and "mlflow" not in entries["evaluate"]


def test_the_models_library_shapes_the_model_stages_only() -> None:
    lightgbm = importlib.metadata.version("lightgbm")
    entries = stages.fingerprints("lightgbm")
    with_it = {stage for stage, entry in entries.items() if f"lightgbm {lightgbm}" in entry}
    assert with_it == MODEL_STAGES
    assert changed(stages.fingerprints("sklearn"), entries) == MODEL_STAGES
    assert stages.model_distribution("sklearn.ensemble") == "scikit-learn"
    assert stages.model_distribution("no_such_library") is None


@pytest.mark.parametrize("stage", list(stages.REVISIONS))
def test_a_revision_bump_changes_that_stages_entry_alone(stage, monkeypatch) -> None:
    before = stages.fingerprints("lightgbm")
    monkeypatch.setitem(stages.REVISIONS, stage, stages.REVISIONS[stage] + 1)
    after = stages.fingerprints("lightgbm")
    assert changed(before, after) == {stage}
    assert after[stage].startswith(f"goldenpath {stage}/{stages.REVISIONS[stage]}; ")


@pytest.mark.parametrize(
    ("library", "affected"),
    [
        ("pandas", set(stages.REVISIONS)),  # every stage reads and writes tables
        ("pandera", {"validate"}),
        ("scikit-learn", MODEL_STAGES),
        ("lightgbm", MODEL_STAGES),  # the configured model's own library
        ("mlflow", {"register"}),
        ("ruff", set()),  # a linter shapes no stage's output
    ],
)
def test_a_library_version_changes_exactly_the_stages_it_shapes(library, affected, monkeypatch):
    before = stages.fingerprints("lightgbm")
    monkeypatch.setattr(stages, "_version", versions_but(**{library: "99.0"}))
    after = stages.fingerprints("lightgbm")
    assert changed(before, after) == affected
    assert all(f"{library} 99.0" in after[stage] for stage in affected)


def test_a_library_that_is_not_installed_is_absent() -> None:
    assert stages._version("no-such-distribution") == "absent"


def test_unchanged_inputs_write_nothing_and_a_change_rewrites_the_file(tmp_path: Path) -> None:
    path = tmp_path / "runtime.yaml"
    assert stages.write("sklearn", path)
    text = path.read_text()
    assert text.startswith(stages.HEADER) and yaml.safe_load(text) == stages.fingerprints("sklearn")
    os.utime(path, (0, 0))  # so that any write would show
    assert not stages.write("sklearn", path)
    assert path.stat().st_mtime == 0 and path.read_text() == text
    assert stages.write("lightgbm", path)
    written = yaml.safe_load(path.read_text())
    assert changed(yaml.safe_load(text), written) == MODEL_STAGES
    assert list(written) == list(stages.REVISIONS)  # in the pipeline's order, for a reader
