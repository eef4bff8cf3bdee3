"""The models to serve, with what /version reports about them.

By default this commit's champion, `models/champion/` (versioned by DVC: a fresh
clone serves it after `dvc pull`), with the segments' champions that beat it on
their rows (`segments/`, see jobs/register.py); MODEL_URI names another model
directory, or a registry URI such as `models:/<name>@champion` (with
MLFLOW_TRACKING_URI: the global model alone).
"""

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..core import model_io, segments
from ..core.champion import ChampionRecord
from ..core.contract import Contract
from ..core.modeling import KnownValues, known_values
from ..core.problems import Problem
from ..core.tasks import Task, task_of

CHAMPION_DIR = "models/champion"
DEFAULT_THRESHOLD = 0.5  # a binary model's without a record of its own (never registered)


class ModelUnavailable(Problem):
    pass


@dataclass(frozen=True)
class ServedModel:
    predictor: Any  # a fitted scikit-learn pipeline (on one thread, as a service runs it)
    uri: str
    record: ChampionRecord

    def describe(self) -> dict[str, Any]:
        return {"model_uri": self.uri, **asdict(self.record)}

    def task(self, contract: Contract) -> Task:
        """The contract's task, deciding at the threshold the model was registered with."""
        return task_of(contract, self.record.threshold or DEFAULT_THRESHOLD)


@dataclass(frozen=True)
class ServedSet:
    main: ServedModel  # the global model: every segment without a better one of its own
    own: dict[str, ServedModel]  # by segment value

    def describe(self) -> dict[str, Any]:
        own = {
            value: {key: getattr(model.record, key) for key in ("model_name", "model_version")}
            | {"run_id": model.record.run_id}
            for value, model in self.own.items()
        }
        return self.main.describe() | {"segments": own}

    def known_values(self, contract: Contract, segment: str) -> KnownValues:
        """The values each model takes of the features of unseen="refuse" (its own rows')."""
        own = {value: model.predictor for value, model in self.own.items()}
        return known_values(contract, self.main.predictor, segment, own)


def default_model_uri() -> str:
    return os.environ.get("MODEL_URI") or CHAMPION_DIR


def load_served_model(uri: str, contract: Contract, one_thread: bool = True) -> ServedModel:
    """The model at `uri`, checked against `contract`; ModelUnavailable says what to do if not.

    `one_thread`: as a service's worker runs it (batch scoring takes every core instead)."""
    record = _registered(uri) if uri.startswith("models:/") else _local(uri)
    what = f"{record.model_name} version {record.model_version} ({uri})"
    model_io.check_fits(uri, contract, what)
    model = model_io.load_model(uri)
    return ServedModel(model_io.single_threaded(model) if one_thread else model, uri, record)


def load_served_set(uri: str, contract: Contract, one_thread: bool = True) -> ServedSet:
    """The model at `uri` and, for a champion directory, the segments' models that serve."""
    own = {}
    folder = Path(uri) / segments.FOLDER
    if not uri.startswith("models:/") and folder.is_dir():
        for child in sorted(folder.iterdir()):
            record = ChampionRecord.read(child)
            if record is not None and record.serves and record.segment is not None:
                own[record.segment] = load_served_model(str(child), contract, one_thread)
    return ServedSet(load_served_model(uri, contract, one_thread), own)


def _registered(uri: str) -> ChampionRecord:
    try:  # the registry's client: not in the serving image, which serves its own model
        from mlflow.exceptions import MlflowException

        from ..core.registry import Registry
        from ..core.tracking import embedded_store
    except ImportError:
        raise ModelUnavailable(
            f"MODEL_URI={uri} needs MLflow, which this image does not carry: it serves the "
            "model built into it (MODEL_URI=/app/model), or the project's environment can."
        ) from None
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
