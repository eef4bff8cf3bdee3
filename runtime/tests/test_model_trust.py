"""What a model may hold when it loads: what the project configured, never what it says.

core/model_io.py checks the types a model's file holds against the project's own trust
first: conf/'s model libraries and train.trusted_types, or in the serving image the
trust file `make image` wrote from them (MODEL_TRUST_FILE). Anything in the model's own
folder is the model's claim, and counts for nothing. The model here is LightGBM's, a
library the runtime no longer trusts unless the project configures it.
"""

import json
from pathlib import Path

import pytest

from goldenpath.core import model_io
from goldenpath.core.modeling import build_model
from goldenpath.core.params import ModelParams

from .usecase import CONTRACT

FOREIGN = ["lightgbm.basic.Booster", "lightgbm.sklearn.LGBMRegressor"]
LIGHTGBM = ModelParams.model_validate(
    {"_target_": "lightgbm.LGBMRegressor", "n_estimators": 5, "verbose": -1}
)
CONFIGURED = "_target_: lightgbm.LGBMRegressor\n"


def lightgbm_model(orders):
    features = orders[CONTRACT.feature_names]
    return build_model(CONTRACT, LIGHTGBM).fit(features, orders[CONTRACT.target.name])


@pytest.fixture
def model_holding_lightgbm(orders, tmp_path: Path) -> Path:
    """A saved LightGBM model, with a trust file of its own in its folder."""
    model = lightgbm_model(orders)
    path = tmp_path / "model"
    trusted = model_io.trusted_types(model, "lightgbm")
    model_io.save_model(model, path, trusted, {}, orders[CONTRACT.feature_names])
    # The model's own claim, next to its files: a registry download could bring it.
    (path / model_io.TRUST_FILE_NAME).write_text(json.dumps({"trusted_types": ["lightgbm."]}))
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
    model_holding_lightgbm: Path, elsewhere: Path
) -> None:
    with pytest.raises(model_io.UntrustedModel) as refused:
        model_io.load_model(str(model_holding_lightgbm))
    assert str(FOREIGN) in str(refused.value)
    assert "add their module (lightgbm.basic, lightgbm.sklearn) to train.trusted_types" in str(
        refused.value
    )


def test_a_library_of_conf_model_loads(model_holding_lightgbm: Path, elsewhere: Path) -> None:
    (elsewhere / "conf" / "model").mkdir(parents=True)
    (elsewhere / "conf" / "model" / "lightgbm.yaml").write_text(CONFIGURED)
    model = model_io.load_model(str(model_holding_lightgbm))
    assert model.predict(CONTRACT.frame([CONTRACT.example])).shape == (1,)


def test_train_trusted_types_is_trusted_at_load_time(
    model_holding_lightgbm: Path, elsewhere: Path
) -> None:
    (elsewhere / "conf" / "train").mkdir(parents=True)
    (elsewhere / "conf" / "train" / "default.yaml").write_text("trusted_types: [lightgbm.]\n")
    assert model_io.load_model(str(model_holding_lightgbm)) is not None


def test_the_serving_image_loads_with_the_trust_file_written_from_conf(
    model_holding_lightgbm: Path, elsewhere: Path, tmp_path: Path, monkeypatch
) -> None:
    project = tmp_path / "project"
    (project / "conf" / "model").mkdir(parents=True)
    (project / "conf" / "model" / "lightgbm.yaml").write_text(CONFIGURED)
    monkeypatch.chdir(project)
    trust_file = tmp_path / "image" / model_io.TRUST_FILE_NAME
    trust_file.parent.mkdir()
    assert model_io.write_trust_file(trust_file) == ["lightgbm."]
    monkeypatch.chdir(elsewhere)  # the image: no conf/
    with pytest.raises(model_io.UntrustedModel):
        model_io.load_model(str(model_holding_lightgbm))
    monkeypatch.setenv(model_io.TRUST_FILE, str(trust_file))
    assert model_io.load_model(str(model_holding_lightgbm)) is not None


def test_a_trust_file_that_is_not_one_stops_the_load(
    model_holding_lightgbm: Path, elsewhere: Path, monkeypatch
) -> None:
    broken = elsewhere / "trusted-types.json"
    broken.write_text("lightgbm.")
    monkeypatch.setenv(model_io.TRUST_FILE, str(broken))
    with pytest.raises(model_io.UntrustedModel, match="not a trust file `make image` wrote"):
        model_io.load_model(str(model_holding_lightgbm))


def test_a_registry_model_is_checked_as_a_folder_is(orders, elsewhere: Path, monkeypatch) -> None:
    """A `runs:/` or `models:/` URI is downloaded, then checked: not loaded on its word."""
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{elsewhere / 'mlflow.db'}")
    model = lightgbm_model(orders)
    features = orders[CONTRACT.feature_names]
    with mlflow.start_run():
        uri = model_io.log_model(model, features, model_io.trusted_types(model, "lightgbm"), {})
    with pytest.raises(model_io.UntrustedModel, match=f"the model at {uri} asks to load types"):
        model_io.load_model(uri)
    (elsewhere / "conf" / "model").mkdir(parents=True)
    (elsewhere / "conf" / "model" / "lightgbm.yaml").write_text(CONFIGURED)
    assert model_io.load_model(uri).predict(features.head(2)).shape == (2,)
