"""Small fitted models saved as the pipeline saves a champion: the tests' models.

Also the script that stores a champion fixture for a release (fixtures/README.md):

    GOLDENPATH_USE_CASE=tests.usecase:USE_CASE uv run python -m tests.champions DEST
"""

import json
import sys
from dataclasses import replace
from pathlib import Path

import goldenpath
from goldenpath.core import model_io
from goldenpath.core.champion import ChampionRecord
from goldenpath.core.modeling import build_model
from goldenpath.core.params import ModelParams

from .usecase import CONTRACT, USE_CASE

SMALL_MODEL = ModelParams.model_validate(
    {"_target_": "sklearn.ensemble.HistGradientBoostingRegressor", "max_iter": 30}
)
TAGS = {"git.commit": "abc123", "git.dirty": "false", "dvc.data_md5": "d41d8"}
EXPECTED = "expected.json"  # a stored fixture's prediction for the contract's example


def fitted(rows, params: ModelParams = SMALL_MODEL):
    model = build_model(CONTRACT, params)
    return model.fit(rows[CONTRACT.feature_names], rows[CONTRACT.target.name])


def save_champion(
    model, path: Path, rows, tags=TAGS, name=USE_CASE.name, version="7", **fields
) -> Path:
    """`model` as a champion directory at `path`: its files and its champion.json
    (`fields`: the record's other values, e.g. `serves` and `segment`)."""
    features = rows[CONTRACT.feature_names]
    model_io.save_model(model, path, model_io.trusted_types(model, "sklearn"), tags, features)
    record = ChampionRecord.of(str(path), name, version, "run-1", {"mae": 1.5})
    replace(record, **fields).write(path)
    return path


def store_fixture(destination: Path) -> None:
    """A tiny champion of this runtime version, with what it predicts for the example."""
    tiny = SMALL_MODEL.model_copy(update={"max_iter": 10, "max_leaf_nodes": 8})
    rows = CONTRACT.samples(300, seed=7)
    model = fitted(rows, tiny)
    save_champion(model, destination, rows)
    predicted = float(model.predict(CONTRACT.frame([CONTRACT.example]))[0])
    expected = {"saved_by": goldenpath.__version__, "example": dict(CONTRACT.example)}
    expected[CONTRACT.target.name] = round(predicted, 2)
    (destination / EXPECTED).write_text(json.dumps(expected, indent=2) + "\n")


if __name__ == "__main__":
    store_fixture(Path(sys.argv[1]))
