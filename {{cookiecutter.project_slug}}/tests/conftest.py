"""Fixtures built from the contract alone: adding a feature needs no test edits."""

import shutil
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.core import model_io
from {{ cookiecutter.package_name }}.core.champion import ChampionRecord
from {{ cookiecutter.package_name }}.core.modeling import build_model
from {{ cookiecutter.package_name }}.core.params import ModelParams
from {{ cookiecutter.package_name }}.usecase import USE_CASE

PROJECT = Path(__file__).resolve().parents[1]
CONTRACT = USE_CASE.contract
SMALL_MODEL = ModelParams.model_validate(
    {"_target_": "sklearn.ensemble.HistGradientBoostingRegressor", "max_iter": 30}
)


@pytest.fixture(scope="session", autouse=True)
def prediction_log(tmp_path_factory: pytest.TempPathFactory):
    """The services the tests start log their predictions here, never into the project."""
    folder = tmp_path_factory.mktemp("prediction-log")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PREDICTION_LOG", str(folder))
        yield folder


@pytest.fixture(scope="session")
def orders() -> pd.DataFrame:
    """Labelled rows spread over every feature's range (see Contract.samples)."""
    return CONTRACT.samples(600, seed=7)


@pytest.fixture(scope="session")
def model_dir(orders: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small fitted model saved as the pipeline saves a champion."""
    model = build_model(CONTRACT, SMALL_MODEL)
    model.fit(orders[CONTRACT.feature_names], orders[CONTRACT.target.name])
    path = tmp_path_factory.mktemp("served") / "champion"
    tags = {"git.commit": "abc123", "git.dirty": "false", "dvc.data_md5": "d41d8"}
    features = orders[CONTRACT.feature_names]
    model_io.save_model(model, path, model_io.trusted_types(model, "sklearn"), tags, features)
    record = ChampionRecord.of(str(path), USE_CASE.name, "7", "run-1", 1.5)
    record.write(path)
    return path


@pytest.fixture(scope="session")
def model_set(model_dir: Path, orders: pd.DataFrame, tmp_path_factory) -> tuple[Path, str]:
    """The champion of `model_dir` with a segment's own model that serves (and one that
    does not), as `register` leaves models/champion/ with segment=per_city."""
    path = tmp_path_factory.mktemp("set") / "champion"
    shutil.copytree(model_dir, path)
    segment = USE_CASE.segment
    values = next(f for f in CONTRACT.features if f.name == segment).categories
    for value, serves in zip(values[:2], (True, False), strict=True):
        rows = orders[orders[segment] == value]
        model = build_model(CONTRACT, SMALL_MODEL.model_copy(update={"max_iter": 10}))
        model.fit(rows[CONTRACT.feature_names], rows[CONTRACT.target.name])
        folder = path / "segments" / value
        features = rows[CONTRACT.feature_names]
        model_io.save_model(model, folder, model_io.trusted_types(model, "sklearn"), {}, features)
        name = f"{USE_CASE.name}-{value}"
        record = ChampionRecord.of(str(folder), name, "2", "run-2", 1.0)
        replace(record, serves=serves, segment=value).write(folder)
    return path, values[0]
