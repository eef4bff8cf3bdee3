"""conf/ -> params.yaml -> typed parameters: composed as `dvc exp run` composes, read strictly."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from dvc.utils.hydra import compose_and_dump

from goldenpath.core.params import (
    CONF_DIR,
    InvalidParams,
    ModelParams,
    compose_params,
    drift,
    load_params,
    parse_params,
)


@pytest.mark.parametrize("overrides", [[], ["model=ridge", "data.seed=3"], ["experiment=ci"]])
def test_compose_writes_what_dvc_exp_run_writes(overrides, tmp_path: Path) -> None:
    """`dvc repro` (the compose stage) and `dvc exp run` must agree on params.yaml."""
    compose_and_dump(
        tmp_path / "params.yaml", str(CONF_DIR.resolve()), None, "config", "", overrides
    )
    assert (tmp_path / "params.yaml").read_text() == compose_params(CONF_DIR, overrides)


def test_the_parameters_are_typed_and_an_experiment_overrides_a_group() -> None:
    params = parse_params(compose_params(CONF_DIR, ["experiment=ci"]))
    assert params.data.sample_rows == 300  # conf/data/sample.yaml, through the experiment
    assert params.model.library == "sklearn"
    assert params.model.estimator_class().__name__ == "HistGradientBoostingRegressor"
    assert params.model.hyperparameters["max_iter"] == 100
    assert "_target_" in params.model.model_dump(by_alias=True)


def test_a_typo_fails_with_the_key_name() -> None:
    text = compose_params(CONF_DIR)
    with pytest.raises(InvalidParams, match=r"data\.holdout_fractoin: unknown key"):
        parse_params(text.replace("holdout_fraction:", "holdout_fractoin:"))
    params = parse_params(compose_params(CONF_DIR, ["+model.learning_rat=0.1"]))
    with pytest.raises(InvalidParams, match=r"model\.learning_rat: .* has no parameter"):
        params.model.check()
    values = yaml.safe_load(text)
    values["data"]["holdout_fraction"] = 2
    with pytest.raises(InvalidParams, match=r"data\.holdout_fraction: .*less than 1"):
        parse_params(yaml.safe_dump(values))
    del values["data"]["seed"]
    with pytest.raises(InvalidParams, match=r"data\.seed: missing") as invalid:
        parse_params(yaml.safe_dump(values))
    assert str(invalid.value).endswith("Fix conf/ (or the value given to `dvc exp run -S`).")


def test_an_estimator_that_cannot_be_imported_is_named() -> None:
    model = ModelParams.model_validate({"_target_": "sklearn.ensemble.NoSuchRegressor"})
    with pytest.raises(InvalidParams, match=r"model\._target_: cannot import"):
        model.check()


def test_an_estimator_that_takes_any_keyword_checks_them_itself() -> None:
    """LightGBM passes unknown keywords on: the check leaves them to it."""
    model = ModelParams.model_validate({"_target_": "lightgbm.LGBMRegressor", "anything": 1})
    model.check()


def test_drift_names_each_key_params_yaml_holds_otherwise(tmp_path: Path) -> None:
    composed = compose_params(CONF_DIR)
    path = tmp_path / "params.yaml"
    assert drift(composed, path) == []  # no params.yaml yet: nothing to compare
    path.write_text(compose_params(CONF_DIR, ["data.seed=3"]))
    assert drift(composed, path) == [f"data.seed: 3 in {path}, 42 from conf/"]
    path.write_text(composed)
    assert drift(composed, path) == []
    assert load_params(path) == parse_params(composed)


def test_the_monitor_window_is_checked() -> None:
    settings = parse_params(compose_params(CONF_DIR)).monitor
    backwards = {"since": datetime(2026, 3, 2), "until": datetime(2026, 3, 1)}
    later = settings.model_copy(update=backwards)
    with pytest.raises(InvalidParams, match=r"monitor\.since .* must come before"):
        later.window(datetime.now(UTC))
    since, until = settings.window(datetime(2026, 3, 8, tzinfo=UTC))
    assert until - since == timedelta(hours=settings.window_hours)
    explicit = settings.model_copy(update={"since": datetime(2026, 3, 1), "until": None})
    since, until = explicit.window(datetime(2026, 3, 8, tzinfo=UTC))
    assert since == datetime(2026, 3, 1, tzinfo=UTC)  # without an offset: UTC
    assert until == datetime(2026, 3, 8, tzinfo=UTC)


def test_a_key_of_an_earlier_release_still_reads() -> None:
    """monitor.error.max_ratio was max_mae_ratio up to 1.0.0: a team's conf/ may keep it."""
    values = yaml.safe_load(compose_params(CONF_DIR))
    del values["monitor"]["error"]["max_ratio"]
    values["monitor"]["error"]["max_mae_ratio"] = 1.5
    assert parse_params(yaml.safe_dump(values)).monitor.error.max_ratio == 1.5
    values["monitor"]["error"]["max_mae_ratio"] = 0.5
    with pytest.raises(InvalidParams, match=r"monitor\.error\.max_mae_ratio: .*greater than 1"):
        parse_params(yaml.safe_dump(values))
