"""The model to serve, with what /version reports about it.

By default this commit's champion, `models/champion/` (versioned by DVC: a fresh
clone serves it after `dvc pull`); MODEL_URI names another model directory, or a
registry URI such as `models:/<name>@champion` (with MLFLOW_TRACKING_URI).
"""

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mlflow.exceptions import MlflowException

from ..core import model_io
from ..core.contract import Contract
from ..core.problems import Problem
from ..core.registry import ChampionRecord, Registry
from ..core.tracking import embedded_store

CHAMPION_DIR = "models/champion"


class ModelUnavailable(Problem):
    pass


@dataclass(frozen=True)
class ServedModel:
    predictor: Any  # a fitted scikit-learn pipeline, predicting on one thread
    uri: str
    record: ChampionRecord

    def describe(self) -> dict[str, Any]:
        return {"model_uri": self.uri, **asdict(self.record)}


def default_model_uri() -> str:
    return os.environ.get("MODEL_URI") or CHAMPION_DIR


def load_served_model(uri: str, contract: Contract) -> ServedModel:
    """The model at `uri`, checked against `contract`; ModelUnavailable says what to do if not."""
    record = _registered(uri) if uri.startswith("models:/") else _local(uri)
    what = f"{record.model_name} version {record.model_version} ({uri})"
    model_io.check_fits(uri, contract, what)
    return ServedModel(model_io.single_threaded(model_io.load_model(uri)), uri, record)


def _registered(uri: str) -> ChampionRecord:
    embedded_store()
    name = uri.removeprefix("models:/").split("@")[0].split("/")[0]
    registry = Registry(name)
    try:
        return registry.describe(registry.resolve(uri))
    except MlflowException as error:
        raise ModelUnavailable(
            f"no model at {uri} in the tracking store {registry.client.tracking_uri} "
            f"({error.message}). Check MODEL_URI and MLFLOW_TRACKING_URI."
        ) from None


def _local(uri: str) -> ChampionRecord:
    if not (Path(uri) / "MLmodel").is_file():
        raise ModelUnavailable(
            f"no model at {uri}. Train one with `make repro`; in a fresh clone, "
            "`uv run dvc pull` brings the commit's model. MODEL_URI names another."
        )
    return ChampionRecord.read(Path(uri)) or ChampionRecord.of(
        uri, "unregistered", "local", "", None
    )
