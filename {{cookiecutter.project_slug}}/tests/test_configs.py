"""Every Hydra config composes, and every model config trains (one test each)."""

from pathlib import Path

import pandas as pd
import pytest
import yaml
from dvc.utils.hydra import compose_and_dump
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from {{ cookiecutter.package_name }}.contract import FEATURE_NAMES, TARGET
from {{ cookiecutter.package_name }}.modeling import build_model, skops_trusted_types
from {{ cookiecutter.package_name }}.params import compose_params

from .conftest import PROJECT

MODELS = sorted(path.stem for path in (PROJECT / "conf" / "model").glob("*.yaml"))
DATA = sorted(path.stem for path in (PROJECT / "conf" / "data").glob("*.yaml"))


@pytest.mark.parametrize("overrides", [[], ["model=ridge", "data.seed=3"]])
def test_compose_writes_what_dvc_exp_run_writes(overrides, tmp_path: Path) -> None:
    """`dvc repro` (the compose stage) and `dvc exp run` must agree on params.yaml."""
    compose_and_dump(tmp_path / "params.yaml", str(PROJECT / "conf"), None, "config", "", overrides)
    assert (tmp_path / "params.yaml").read_text() == compose_params(PROJECT / "conf", overrides)


@pytest.mark.parametrize("data", DATA)
def test_data_config_composes(data: str) -> None:
    params = yaml.safe_load(compose_params(PROJECT / "conf", [f"data={data}"]))
    assert params["data"]["n_orders"] > 0 and 0 < params["data"]["holdout_fraction"] < 1


@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("model", MODELS)
def test_model_config_trains(model: str, log_target: bool, orders: pd.DataFrame) -> None:
    params = yaml.safe_load(compose_params(PROJECT / "conf", [f"model={model}"]))
    pipeline = build_model(params["model"], log_target=log_target)
    pipeline.fit(orders[FEATURE_NAMES], orders[TARGET.name])
    assert pipeline.predict(orders[FEATURE_NAMES].head(5)).shape == (5,)
    assert all(
        name.startswith(("sklearn.", "numpy.", "scipy.")) for name in skops_trusted_types(pipeline)
    )


def halve(values):
    return values / 2


def test_a_model_with_project_code_inside_is_not_trusted_blindly() -> None:
    pipeline = make_pipeline(FunctionTransformer(halve))
    with pytest.raises(TypeError, match="halve"):
        skops_trusted_types(pipeline)
