"""What a model may hold when it loads: what the project configured, never what it says.

A model directory lists the types skops must load (MLmodel's skops_trusted_types);
core/model_io.py checks them against the project's own trust first: conf/'s model
libraries and train.trusted_types, or in the serving image the trust file `make image`
wrote from them (MODEL_TRUST_FILE). Anything in the model's own folder is the model's
claim, and counts for nothing.
"""

import json
from pathlib import Path

import pytest
import yaml

from goldenpath.core import model_io
from goldenpath.core.modeling import build_model
from goldenpath.core.params import ModelParams

from .usecase import CONTRACT

FOREIGN = ["xgboost.core.Booster", "xgboost.sklearn.XGBRegressor"]


@pytest.fixture
def model_holding_xgboost(orders, tmp_path: Path) -> Path:
    """A saved model whose MLmodel asks skops to trust XGBoost's types (as an XGBoost
    model's does: the check runs on that list, before anything loads)."""
    params = ModelParams.model_validate({"_target_": "sklearn.linear_model.Ridge"})
    model = build_model(CONTRACT, params).fit(
        orders[CONTRACT.feature_names], orders[CONTRACT.target.name]
    )
    path = tmp_path / "model"
    trusted = model_io.trusted_types(model, "sklearn")
    model_io.save_model(model, path, trusted, {}, orders[CONTRACT.feature_names])
    mlmodel = yaml.safe_load((path / "MLmodel").read_text())
    mlmodel["flavors"]["sklearn"]["skops_trusted_types"] += FOREIGN
    (path / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    # The model's own claim, next to its files: a registry download could bring it.
    (path / model_io.TRUST_FILE_NAME).write_text(json.dumps({"trusted_types": ["xgboost."]}))
    return path


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory without conf/ (as the serving image's), and no trust settings."""
    folder = tmp_path / "cwd"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.delenv(model_io.TRUST_FILE, raising=False)
    monkeypatch.delenv(model_io.EXTRA_TRUST, raising=False)
    return folder


def test_the_configuration_says_what_is_trusted(elsewhere: Path) -> None:
    conf = elsewhere / "conf"
    (conf / "model").mkdir(parents=True)
    (conf / "train").mkdir()
    (conf / "model" / "xgboost.yaml").write_text("_target_: xgboost.XGBRegressor\n")
    (conf / "model" / "ridge.yaml").write_text("_target_: sklearn.linear_model.Ridge\n")
    (conf / "train" / "default.yaml").write_text("trusted_types: [category_encoders.]\n")
    experiment = "defaults: [{override /model: xgboost}]\nmodel: {_target_: catboost.CatBoost}\n"
    (conf / "experiment").mkdir()
    (conf / "experiment" / "cat.yaml").write_text(experiment)
    (elsewhere / "params.yaml").write_text("model:\n  _target_: ngboost.NGBRegressor\n")
    # scikit-learn's is always trusted (model_io.BASE_TRUST): not listed again.
    assert model_io.configured_trust() == [
        "catboost.",
        "category_encoders.",
        "ngboost.",
        "xgboost.",
    ]


def test_a_library_conf_does_not_name_is_refused_whatever_the_model_folder_says(
    model_holding_xgboost: Path, elsewhere: Path
) -> None:
    with pytest.raises(model_io.UntrustedModel) as refused:
        model_io.load_model(str(model_holding_xgboost))
    assert str(FOREIGN) in str(refused.value)
    assert "add their module (xgboost.core, xgboost.sklearn) to train.trusted_types" in str(
        refused.value
    )


def test_a_library_of_conf_model_loads(model_holding_xgboost: Path, elsewhere: Path) -> None:
    (elsewhere / "conf" / "model").mkdir(parents=True)
    (elsewhere / "conf" / "model" / "xgboost.yaml").write_text("_target_: xgboost.XGBRegressor\n")
    model = model_io.load_model(str(model_holding_xgboost))
    assert model.predict(CONTRACT.frame([CONTRACT.example])).shape == (1,)


def test_train_trusted_types_is_trusted_at_load_time(
    model_holding_xgboost: Path, elsewhere: Path
) -> None:
    (elsewhere / "conf" / "train").mkdir(parents=True)
    (elsewhere / "conf" / "train" / "default.yaml").write_text("trusted_types: [xgboost.]\n")
    assert model_io.load_model(str(model_holding_xgboost)) is not None


def test_the_serving_image_loads_with_the_trust_file_written_from_conf(
    model_holding_xgboost: Path, elsewhere: Path, tmp_path: Path, monkeypatch
) -> None:
    project = tmp_path / "project"
    (project / "conf" / "model").mkdir(parents=True)
    (project / "conf" / "model" / "xgboost.yaml").write_text("_target_: xgboost.XGBRegressor\n")
    monkeypatch.chdir(project)
    trust_file = tmp_path / "image" / model_io.TRUST_FILE_NAME
    trust_file.parent.mkdir()
    assert model_io.write_trust_file(trust_file) == ["xgboost."]
    monkeypatch.chdir(elsewhere)  # the image: no conf/
    with pytest.raises(model_io.UntrustedModel):
        model_io.load_model(str(model_holding_xgboost))
    monkeypatch.setenv(model_io.TRUST_FILE, str(trust_file))
    assert model_io.load_model(str(model_holding_xgboost)) is not None


def test_a_trust_file_that_is_not_one_stops_the_load(
    model_holding_xgboost: Path, elsewhere: Path, monkeypatch
) -> None:
    broken = elsewhere / "trusted-types.json"
    broken.write_text("xgboost.")
    monkeypatch.setenv(model_io.TRUST_FILE, str(broken))
    with pytest.raises(model_io.UntrustedModel, match="not a trust file `make image` wrote"):
        model_io.load_model(str(model_holding_xgboost))


def test_a_registry_model_is_checked_as_a_folder_is(orders, elsewhere: Path, monkeypatch) -> None:
    """A `runs:/` or `models:/` URI is downloaded, then checked: not loaded on its word."""
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{elsewhere / 'mlflow.db'}")
    params = ModelParams.model_validate({"_target_": "sklearn.linear_model.Ridge"})
    features = orders[CONTRACT.feature_names]
    model = build_model(CONTRACT, params).fit(features, orders[CONTRACT.target.name])
    trusted = model_io.trusted_types(model, "sklearn") + FOREIGN  # what the model claims
    with mlflow.start_run():
        uri = model_io.log_model(model, features, trusted, {})
    with pytest.raises(model_io.UntrustedModel, match=f"the model at {uri} asks to load types"):
        model_io.load_model(uri)
    (elsewhere / "conf" / "model").mkdir(parents=True)
    (elsewhere / "conf" / "model" / "xgboost.yaml").write_text("_target_: xgboost.XGBRegressor\n")
    assert model_io.load_model(uri).predict(features.head(2)).shape == (2,)
