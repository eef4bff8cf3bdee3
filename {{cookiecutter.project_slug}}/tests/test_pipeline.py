"""A tiny end-to-end run of every stage, in a scratch workspace with its own MLflow store."""

import json
import shutil
import sys
from pathlib import Path

import mlflow
import pytest

from {{ cookiecutter.package_name }}.jobs import compose, evaluate, generate, register, split, train, validate
from {{ cookiecutter.package_name }}.params import compose_params

from .conftest import PROJECT

STAGES = [
    (generate, ["data/raw/orders.csv"]),
    (validate, ["data/raw/orders.csv", "data/validated/orders.csv"]),
    (split, ["data/validated/orders.csv", "data/split"]),
    (train, ["data/split/train.csv", "models"]),
    (evaluate, ["models", "data/split", "metrics.json", "reports/plots"]),
    (register, ["models", "metrics.json", "data/split/holdout.csv", "reports/registration.json"]),
]


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(PROJECT / "conf", tmp_path / "conf")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("DVC_EXP_NAME", raising=False)
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    return tmp_path


def run_pipeline(monkeypatch: pytest.MonkeyPatch, *overrides: str) -> dict:
    Path("params.yaml").write_text(compose_params(Path("conf"), ["data=sample", *overrides]))
    for job, args in STAGES:
        shutil.rmtree(args[-1], ignore_errors=True)  # as DVC removes outputs before a stage
        monkeypatch.setattr(sys, "argv", [job.__name__, *args])
        job.main()
    return json.loads(Path("reports/registration.json").read_text())


def test_pipeline_trains_beats_baseline_and_promotes(workspace, monkeypatch) -> None:
    first = run_pipeline(monkeypatch)
    metrics = json.loads(Path("metrics.json").read_text())
    assert metrics["holdout"]["mae"] < 0.6 * metrics["baseline_mae"]
    assert first["alias"] == "champion" and first["version"] == 1
    assert Path("reports/plots/mae_by_city.csv").read_text().startswith("city,mae,orders")

    worse = run_pipeline(monkeypatch, "model=ridge")
    assert worse["alias"] == "challenger" and worse["version"] == 2
    client = mlflow.MlflowClient()
    assert client.get_model_version_by_alias(first["model_name"], "champion").version in (1, "1")

    run = client.get_run(json.loads(Path("models/run.json").read_text())["run_id"])
    assert run.data.params["model._target_"] == "sklearn.linear_model.Ridge"
    assert {"git.commit", "git.dirty", "dvc.data_md5"} <= set(run.data.tags)
    assert "holdout_mae" in run.data.metrics


def test_compose_stage_writes_params_unless_dvc_exp_run_did(workspace, monkeypatch) -> None:
    compose.main()
    assert Path("params.yaml").read_text() == compose_params(Path("conf"))
    Path("params.yaml").write_text("composed: by dvc exp run\n")
    monkeypatch.setenv("DVC_EXP_NAME", "exp-1")
    compose.main()
    assert Path("params.yaml").read_text() == "composed: by dvc exp run\n"


def test_validate_stage_stops_on_a_broken_file(workspace, monkeypatch) -> None:
    Path("raw.csv").write_text("order_id,distance_km\n1,-4\n")
    monkeypatch.setattr(sys, "argv", ["validate", "raw.csv", "out.csv"])
    with pytest.raises(SystemExit, match="breaks the data contract"):
        validate.main()
    assert not Path("out.csv").exists()
