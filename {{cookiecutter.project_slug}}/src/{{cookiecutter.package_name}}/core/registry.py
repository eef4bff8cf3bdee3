"""The model registry: idempotent registration, aliases, and champion directories.

`champion` is the model that won its gate; `challenger` the best one that did not
win. A champion is also a model directory with a `champion.json` record (name,
version, run, holdout MAE, provenance): what serving and the image read.
"""

import json
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import mlflow
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from . import model_io

CHAMPION, CHALLENGER = "champion", "challenger"
RECORD = "champion.json"
BASELINE = "baseline"  # the model version's tag that holds ChampionRecord.baseline, as JSON
UNREGISTERED = "unregistered"


@dataclass(frozen=True)
class ChampionRecord:
    model_name: str
    model_version: str  # UNREGISTERED when its run registered nothing (a queued experiment)
    run_id: str
    holdout_mae: float | None
    git_commit: str
    git_dirty: str
    data_md5: str
    experiment: str
    serves: bool = True  # False: a segment's champion the global model beats on its rows
    baseline: dict = field(default_factory=dict)  # at promotion: core/reference.py's baseline

    @classmethod
    def of(cls, uri: str, name: str, version: str, run_id: str, holdout_mae: float | None):
        """The record of the model at `uri`, its provenance read from the model itself."""
        tags = model_io.metadata(uri)
        return cls(
            model_name=name,
            model_version=version,
            run_id=run_id,
            holdout_mae=None if holdout_mae is None else round(holdout_mae, 4),
            git_commit=tags.get("git.commit", "unknown"),
            git_dirty=tags.get("git.dirty", "unknown"),
            data_md5=tags.get("dvc.data_md5", "unknown"),
            experiment=tags.get("dvc.experiment", ""),
        )

    def write(self, model_dir: Path) -> None:
        (model_dir / RECORD).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def read(cls, model_dir: Path) -> "ChampionRecord | None":
        record = model_dir / RECORD
        return cls(**json.loads(record.read_text())) if record.is_file() else None


def install_champion(
    model_dir: Path, destination: Path, record: ChampionRecord, keep: Sequence[str] = ()
) -> None:
    """`model_dir`'s files, and `record`, become the champion directory `destination`.

    `keep` names sub-folders of `destination` that are not the model's and stay.
    """
    staging = destination.with_name(destination.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(model_dir, staging, ignore=shutil.ignore_patterns(*keep))
    record.write(staging)
    for folder in keep:
        if (destination / folder).exists():
            (destination / folder).rename(staging / folder)
    shutil.rmtree(destination, ignore_errors=True)
    staging.rename(destination)


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
        mae = version.tags.get("holdout_mae")
        number = str(version.version)  # an int in some stores, a str in others
        record = ChampionRecord.of(
            self.uri(number), self.name, number, version.run_id, None if mae is None else float(mae)
        )
        return replace(record, baseline=json.loads(version.tags.get(BASELINE, "{}")))

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
