"""Loading the model to serve, with what /version reports about it."""

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow

from ..params import load_params
from ..tracking import embedded_store

CHAMPION_ALIAS = "champion"
EXPORT_RECORD = "served_model.json"  # written by serving/export.py next to the model


@dataclass(frozen=True)
class ServedModel:
    predictor: Any  # a fitted scikit-learn pipeline
    uri: str
    name: str
    version: str
    git_commit: str
    data_md5: str

    def describe(self) -> dict[str, str]:
        return {
            "model_name": self.name,
            "model_version": self.version,
            "model_uri": self.uri,
            "git_commit": self.git_commit,
            "data_md5": self.data_md5,
        }


def default_model_uri() -> str:
    """MODEL_URI, or the project's champion in the registry."""
    if uri := os.environ.get("MODEL_URI"):
        return uri
    return f"models:/{load_params()['mlflow']['model_name']}@{CHAMPION_ALIAS}"


def _registry_version(uri: str) -> tuple[str, str]:
    """(name, version) for `models:/name@alias` or `models:/name/version`."""
    reference = uri.removeprefix("models:/")
    if "@" in reference:
        name, alias = reference.split("@", 1)
        return name, mlflow.MlflowClient().get_model_version_by_alias(name, alias).version
    name, _, version = reference.partition("/")
    return name, version


def load_served_model(uri: str) -> ServedModel:
    """The model at `uri`: a registry URI, a run/logged-model URI or a local directory."""
    if uri.startswith(("models:/", "runs:/")):
        embedded_store()
    try:
        metadata = mlflow.models.Model.load(uri).metadata or {}
        predictor = mlflow.sklearn.load_model(uri)
    except Exception as error:
        raise RuntimeError(
            f"cannot load the model at {uri!r} ({error}). Run `make repro` to register a "
            "champion, or set MODEL_URI to a model directory or a models:/ URI."
        ) from error
    exported = Path(uri) / EXPORT_RECORD
    if uri.startswith("models:/"):
        name, version = _registry_version(uri)
    elif exported.is_file():  # a model exported from the registry, as in the image
        record = json.loads(exported.read_text())
        name, version = record["model_name"], record["model_version"]
    else:
        name, version = "unregistered", "local"
    return ServedModel(
        predictor=predictor,
        uri=uri,
        name=name,
        version=str(version),
        git_commit=metadata.get("git.commit", "unknown"),
        data_md5=metadata.get("dvc.data_md5", "unknown"),
    )
