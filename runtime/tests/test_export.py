"""`python -m goldenpath.serving.export`: the model to serve, copied for the serving image."""

import sys
from pathlib import Path

import pytest

from goldenpath.core.champion import ChampionRecord
from goldenpath.serving import export
from goldenpath.serving.model import ModelUnavailable


def test_the_champion_is_copied_with_the_labels_of_the_image(model_dir, tmp_path, monkeypatch):
    destination = tmp_path / "build" / "model"
    monkeypatch.setattr(sys, "argv", ["export", str(model_dir), str(destination)])
    export.main()
    assert ChampionRecord.read(destination) == ChampionRecord.read(model_dir)
    assert (destination / "MLmodel").is_file() and (destination / "model.skops").is_file()
    assert (tmp_path / "build" / "build-args").read_text().splitlines() == [
        "GIT_COMMIT=abc123",
        "MODEL_NAME=eta-test",
        "MODEL_VERSION=7",
        "RUN_ID=run-1",
        "DATA_MD5=d41d8",
    ]


def test_no_model_to_export_says_how_to_get_one(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(sys, "argv", ["export", str(tmp_path / "none"), str(tmp_path / "out")])
    with pytest.raises(ModelUnavailable, match=r"make repro.*uv run dvc pull"):
        export.main()
    assert not Path(tmp_path / "out").exists()
