"""TestPipeline: the project's dvc.yaml, run stage by stage, trains and serves a champion.

In a scratch copy of `conf/` with its own MLflow store (never the project's, nor a
tracking server MLFLOW_TRACKING_URI names), on the contract's samples written as a
table of data/external/ (as the team's own data would be), each stage's command runs
in this process, in dvc.yaml's order, as `dvc exp run -S data.source=...` runs them:
every stage writes its outs, the model beats the baseline, the first one is promoted,
and the service answers the contract's example with it.
"""

import importlib
import json
import shlex
import shutil
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ...core.champion import ChampionRecord
from ...core.params import compose_params
from ...core.tasks import METRICS
from ...serving.app import create_app
from ..fixtures import conf_dir, dvc_stages
from .dvc import names

SOURCE = "data/external/samples.parquet"


def run_stage(stage: dict, monkeypatch) -> None:
    """The stage's command, run in this process (after DVC's removal of its outs)."""
    _, _, module, *args = shlex.split(stage["cmd"])
    for out in stage.get("outs", []):
        path, options = (out, {}) if isinstance(out, str) else next(iter(out.items()))
        if not options.get("persist"):
            shutil.rmtree(path, ignore_errors=True)
            Path(path).unlink(missing_ok=True)
    monkeypatch.setattr(sys, "argv", [module, *args])
    importlib.import_module(module).main()


def isolate_mlflow(monkeypatch) -> None:
    """MLflow's tracking URI and experiment, which the stages set and MLflow exports to the
    environment, back to what they were once the test is over."""
    import mlflow.tracking._tracking_service.utils as tracking_uri
    import mlflow.tracking.fluent as fluent

    monkeypatch.setattr(tracking_uri, "_tracking_uri", None, raising=False)
    monkeypatch.setattr(fluent, "_active_experiment_id", None, raising=False)
    for variable in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID"):
        monkeypatch.setenv(variable, "")  # recorded: the end of the test restores it
        monkeypatch.delenv(variable)  # the project's own store, never a tracking server


class TestPipeline:
    @pytest.fixture
    def workspace(self, project_root, contract, tmp_path, monkeypatch) -> Path:
        """A scratch project: conf/, the contract's samples as data.source, its own store."""
        shutil.copytree(conf_dir(project_root), tmp_path / "conf")
        (tmp_path / "data" / "external").mkdir(parents=True)
        contract.samples(800, seed=1).to_parquet(tmp_path / SOURCE)
        monkeypatch.chdir(tmp_path)
        isolate_mlflow(monkeypatch)
        monkeypatch.delenv("PROMOTION_DRY_RUN", raising=False)
        monkeypatch.setenv("DVC_ROOT", str(tmp_path))  # the repository's store: tmp_path's
        monkeypatch.setenv("DVC_EXP_NAME", "goldenpath-suite")  # compose keeps params.yaml
        Path("params.yaml").write_text(compose_params(Path("conf"), [f"data.source={SOURCE}"]))
        return tmp_path

    def test_the_stages_train_register_and_serve_a_champion(
        self, project_root, use_case, workspace, monkeypatch
    ) -> None:
        for name, stage in dvc_stages(project_root).items():
            run_stage(stage, monkeypatch)
            outs = names(stage.get("outs", []) + stage.get("metrics", []))
            assert all(Path(out).exists() for out in outs), f"stage {name} left out {outs}"

        metrics = json.loads(Path("metrics.json").read_text())
        decision = json.loads(Path("reports/registration.json").read_text())
        metric = decision["metric"]  # the gate's: 20 % better than a model that learnt nothing
        figure, baseline = metrics["holdout"][metric], metrics[f"baseline_{metric}"]
        assert METRICS[metric].better(figure, baseline, 0.2), metrics
        assert decision["promoted"] and decision["candidate"]["version"] == "1", decision
        champion = ChampionRecord.read(Path("models/champion"))
        assert (champion.model_name, champion.model_version) == (use_case.name, "1")
        with TestClient(create_app("models/champion")) as client:
            answer = client.post("/predict", json=use_case.contract.example)
        assert answer.status_code == 200 and answer.json()["models"] == [f"{use_case.name}/1"]
