"""Every Hydra config composes into valid parameters, and every model config trains."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from dvc.utils.hydra import compose_and_dump
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from {{ cookiecutter.package_name }}.core import model_io
from {{ cookiecutter.package_name }}.core.modeling import build_model
from {{ cookiecutter.package_name }}.core.params import InvalidParams, compose_params, parse_params

from .conftest import CONTRACT, PROJECT

CONF = PROJECT / "conf"


def options(group: str) -> list[str]:
    return sorted(path.stem for path in (CONF / group).glob("*.yaml"))


@pytest.mark.parametrize("overrides", [[], ["model=ridge", "data.seed=3"], ["experiment=ci"]])
def test_compose_writes_what_dvc_exp_run_writes(overrides, tmp_path: Path) -> None:
    """`dvc repro` (the compose stage) and `dvc exp run` must agree on params.yaml."""
    compose_and_dump(tmp_path / "params.yaml", str(CONF), None, "config", "", overrides)
    assert (tmp_path / "params.yaml").read_text() == compose_params(CONF, overrides)


@pytest.mark.parametrize(
    ("group", "option"),
    [
        (group, option)
        for group in ("data", "train", "promotion", "monitor", "experiment")
        for option in options(group)
    ],
)
def test_every_config_gives_valid_parameters(group: str, option: str) -> None:
    parse_params(compose_params(CONF, [f"{group}={option}"]))


@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("model", options("model"))
def test_every_model_config_trains_and_saves(
    model: str, log_target: bool, orders, tmp_path
) -> None:
    params = parse_params(compose_params(CONF, [f"model={model}"]))
    params.model.check()
    pipeline = build_model(CONTRACT, params.model, log_target=log_target)
    features = orders[CONTRACT.feature_names]
    pipeline.fit(features, orders[CONTRACT.target.name])
    trusted = model_io.trusted_types(pipeline, params.model.library, params.train.trusted_types)
    model_io.save_model(pipeline, tmp_path / "model", trusted, {}, features)
    loaded = model_io.load_model(str(tmp_path / "model"))
    # Parallel models (n_jobs) sum in any order: equal to the last few bits.
    expected = pipeline.predict(features.head(5))
    np.testing.assert_allclose(loaded.predict(features.head(5)), expected, rtol=1e-12)


def test_a_typo_fails_with_the_key_name() -> None:
    text = compose_params(CONF)
    with pytest.raises(InvalidParams, match=r"data\.holdout_fractoin: unknown key"):
        parse_params(text.replace("holdout_fraction:", "holdout_fractoin:"))
    params = parse_params(compose_params(CONF, ["+model.learning_rat=0.1"]))
    with pytest.raises(InvalidParams, match=r"model\.learning_rat: .* has no parameter"):
        params.model.check()
    values = yaml.safe_load(text)
    values["data"]["holdout_fraction"] = 2
    with pytest.raises(InvalidParams, match=r"data\.holdout_fraction: .*less than 1"):
        parse_params(yaml.safe_dump(values))


def halve(values: pd.DataFrame) -> pd.DataFrame:
    return values / 2


def test_a_model_with_code_from_elsewhere_is_not_trusted_blindly() -> None:
    pipeline = make_pipeline(FunctionTransformer(halve))
    with pytest.raises(model_io.UntrustedModel, match="halve"):
        model_io.trusted_types(pipeline, "sklearn")
    assert model_io.trusted_types(pipeline, "sklearn", extra=["tests."])
