"""The model registry: idempotent registration, aliases, the champion of record.

`champion` is the model that won its gate; `challenger` the best one that did not
win. The champion is also a model directory (champion.py).
"""

import json
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import mlflow
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from . import model_io
from .champion import ChampionRecord, install_champion

CHAMPION, CHALLENGER = "champion", "challenger"
BASELINE = "baseline"  # the model version's tag that holds ChampionRecord.baseline, as JSON
GATE_METRIC = "gate_metric"  # the tag naming the metric its gate compared (holdout_<metric>)
HOLDOUT = "holdout_"  # the prefix of the tags that hold its holdout metrics
THRESHOLD = "threshold"  # a binary classifier's: the decision threshold it was registered with


class Registry:
    """One registered model in the current tracking store."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.client = mlflow.MlflowClient()

    def has_run(self, run_id: str) -> bool:
        try:
            self.client.get_run(run_id)
            return True
        except MlflowException:
            return False

    def version_of_run(self, run_id: str) -> str | None:
        try:
            found = self.client.search_model_versions(f"name='{self.name}' and run_id='{run_id}'")
        except MlflowException:
            return None
        return str(min(int(v.version) for v in found)) if found else None

    def register(self, model_uri: str, run_id: str) -> str:
        """The version holding `run_id`'s model: the existing one, else a new one."""
        return self.version_of_run(run_id) or str(
            mlflow.register_model(model_uri, self.name).version
        )

    def alias(self, alias: str) -> ModelVersion | None:
        try:
            return self.client.get_model_version_by_alias(self.name, alias)
        except MlflowException:
            return None

    def set_alias(self, alias: str, version: str) -> None:
        self.client.set_registered_model_alias(self.name, alias, version)

    def drop_alias(self, alias: str) -> None:
        self.client.delete_registered_model_alias(self.name, alias)

    def uri(self, version: str) -> str:
        return f"models:/{self.name}/{version}"

    def tag(self, version: str, key: str, value: str) -> None:
        self.client.set_model_version_tag(self.name, version, key, value)

    def describe(self, version: ModelVersion) -> ChampionRecord:
        holdout = {
            tag.removeprefix(HOLDOUT): float(value)
            for tag, value in version.tags.items()
            if tag.startswith(HOLDOUT)
        }
        number = str(version.version)  # an int in some stores, a str in others
        metric = version.tags.get(GATE_METRIC, "mae")  # registered by 1.1 or earlier: MAE
        record = ChampionRecord.of(
            self.uri(number), self.name, number, version.run_id, holdout, metric
        )
        threshold = version.tags.get(THRESHOLD)
        return replace(
            record,
            baseline=json.loads(version.tags.get(BASELINE, "{}")),
            threshold=None if threshold is None else float(threshold),
        )

    def resolve(self, reference: str) -> ModelVersion:
        """The version `models:/name@alias` or `models:/name/version` points to."""
        name, _, rest = reference.removeprefix("models:/").partition("/")
        if "@" in name:
            name, alias = name.split("@", 1)
            return self.client.get_model_version_by_alias(name, alias)
        return self.client.get_model_version(name, rest)

    def fetch(self, version: ModelVersion, destination: Path, keep: Sequence[str] = ()):
        """The registered `version` as the champion directory `destination` (install_champion)."""
        record = self.describe(version)
        with tempfile.TemporaryDirectory() as scratch:
            model_dir = model_io.download(self.uri(str(version.version)), Path(scratch))
            install_champion(model_dir, destination, record, keep)
        return record


def champion_uri(champion_dir: Path, registry: Registry, server: bool) -> tuple[str, str] | None:
    """(URI, label) of the champion of record, or None before the first one.

    With a tracking server its `@champion` decides, for the whole team. Without
    one, this branch's champion directory does: versioned by DVC with the commit,
    while the embedded store is shared by every branch of the working copy.
    """
    if server:
        version = registry.alias(CHAMPION)
        return (registry.uri(version.version), f"version {version.version}") if version else None
    record = ChampionRecord.read(champion_dir)
    if record is None:
        return None
    return str(champion_dir), f"version {record.model_version} ({champion_dir})"
