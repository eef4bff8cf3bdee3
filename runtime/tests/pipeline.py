"""The tests' dvc.yaml, stage by stage, run in this process as DVC would run it."""

import json
import shlex
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from goldenpath.core.champion import ChampionRecord
from goldenpath.core.params import compose_params
from goldenpath.core.registry import Registry

PROJECT = Path(__file__).parent / "project"
STAGES = yaml.safe_load((PROJECT / "dvc.yaml").read_text())["stages"]
SOURCE = "data/external/orders.parquet"  # the workspace's table (conftest.py, `workspace`)


def run_stage(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stage's command from dvc.yaml, run in this process."""
    _, _, module, *args = shlex.split(STAGES[name]["cmd"])
    for out in STAGES[name].get("outs", []):  # as DVC removes outputs before a stage
        path, options = (out, {}) if isinstance(out, str) else next(iter(out.items()))
        if not options.get("persist"):
            shutil.rmtree(path, ignore_errors=True)
            Path(path).unlink(missing_ok=True)
    monkeypatch.setattr(sys, "argv", [module, *args])
    job = __import__(module, fromlist=["main"])
    job.main()


def compose(*overrides: str) -> None:
    """params.yaml as `dvc exp run -S` writes it, on the workspace's table."""
    overrides = (f"data.source={SOURCE}", *overrides)
    Path("params.yaml").write_text(compose_params(Path("conf"), overrides))


def run_pipeline(monkeypatch: pytest.MonkeyPatch, *overrides: str) -> dict:
    """Every stage after compose; the registration decision."""
    compose(*overrides)
    for name in STAGES:
        if name != "compose":
            run_stage(name, monkeypatch)
    return json.loads(Path("reports/registration.json").read_text())


def registry() -> Registry:
    return Registry(ChampionRecord.read(Path("models/champion")).model_name)
