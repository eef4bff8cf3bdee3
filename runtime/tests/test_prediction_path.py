"""Which prediction path each served model takes, and why: the Predictor, /version, the log.

Serving predicts through the fastest path that gives what the pipeline gives
(serving/predictor.py): compiled trees, else the estimator's own predict on the
encoded rows (lean), else the pipeline. None of them is silent: the Predictor carries
a reason, /version shows it for every model, the start-up log says it.
"""

import logging
import re
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sklearn.base import BaseEstimator, TransformerMixin, is_classifier
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    ExtraTreesRegressor,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.pipeline import Pipeline

from goldenpath.core import model_io
from goldenpath.core.champion import ChampionRecord
from goldenpath.core.modeling import build_model, encoding
from goldenpath.core.params import ModelParams
from goldenpath.serving.app import create_app
from goldenpath.serving.compiled import compile_trees
from goldenpath.serving.predictor import CHECK_ROWS, TOLERANCE, lean_predictor

from .usecase import CONTRACT, USE_CASE

BOOSTING = {"_target_": "sklearn.ensemble.HistGradientBoostingRegressor", "max_iter": 20}
FOREST = {"_target_": "sklearn.ensemble.RandomForestRegressor", "n_estimators": 5}
RIDGE = {"_target_": "sklearn.linear_model.Ridge"}


def fit(rows, config: dict, log_target: bool = False) -> Pipeline:
    model = build_model(CONTRACT, ModelParams.model_validate(config), log_target)
    return model.fit(rows[CONTRACT.feature_names], rows[CONTRACT.target.name])


def same_predictions(predictor, model, rows) -> bool:
    records = rows[CONTRACT.feature_names].to_dict(orient="records")
    expected = model.predict(rows[CONTRACT.feature_names])
    return bool(np.allclose(predictor.predict(records), expected, rtol=0, atol=TOLERANCE))


@pytest.mark.parametrize("log_target", [False, True])
def test_gradient_boosting_is_compiled_and_says_so(orders, log_target) -> None:
    model = fit(orders, BOOSTING, log_target)
    predictor = lean_predictor(model, CONTRACT)
    assert predictor.describe()["prediction_path"] == "compiled"
    reason = predictor.describe()["prediction_path_reason"]
    kind = (
        "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingRegressor"
    )
    assert reason.startswith(f"{kind}{' (on a transformed target)' * log_target}'s trees run")
    assert f"equal to the pipeline's predictions on {CHECK_ROWS} sample rows" in reason
    assert "not compiled" not in reason  # nothing faster was tried and refused
    assert same_predictions(predictor, model, orders)


def test_a_linear_model_is_lean_because_it_has_no_trees(orders) -> None:
    model = fit(orders, RIDGE)
    predictor = lean_predictor(model, CONTRACT)
    assert (predictor.how, predictor.lean, predictor.compiled) == ("lean", True, False)
    assert predictor.reason == (
        "sklearn.linear_model._ridge.Ridge's own predict on the encoded rows, equal to the "
        f"pipeline's predictions on {CHECK_ROWS} sample rows; not compiled: "
        "sklearn.linear_model._ridge.Ridge is not a tree ensemble the compiled path takes "
        "(scikit-learn's gradient boosting and forests, LightGBM)"
    )
    assert same_predictions(predictor, model, orders)


@pytest.mark.parametrize("scaled", [False, True], ids=["raw", "scaled"])
def test_a_forest_is_compiled_on_raw_or_scaled_numbers(orders, scaled) -> None:
    forest = RandomForestRegressor(n_estimators=5, random_state=0)
    model = Pipeline([("encode", encoding(CONTRACT, trees=not scaled)), ("estimator", forest)])
    model.fit(orders[CONTRACT.feature_names], orders[CONTRACT.target.name])
    predictor = lean_predictor(model, CONTRACT)
    assert predictor.how == "compiled", predictor.reason
    assert same_predictions(predictor, model, orders)


TREES = [
    RandomForestRegressor(n_estimators=30, random_state=0),
    ExtraTreesRegressor(n_estimators=30, random_state=0),
    GradientBoostingRegressor(random_state=0),
    HistGradientBoostingRegressor(random_state=0),
    RandomForestClassifier(n_estimators=30, random_state=0),
    HistGradientBoostingClassifier(random_state=0),
]


@pytest.mark.parametrize("model", TREES, ids=lambda model: type(model).__name__)
def test_compiled_trees_compare_each_feature_as_the_model_does(model) -> None:
    """scikit-learn's own trees compare a feature in float32, its histogram boosting in
    float64: on values such as 17.31 (not a float32), a row near a threshold goes the
    other way unless the compiled trees read it the same way. Predicting the training
    rows puts many on the thresholds."""
    rng = np.random.default_rng(0)
    rows = np.column_stack([np.round(rng.uniform(0, 30, 3000), 2), rng.integers(1, 4, 3000)])
    target = rows[:, 0] + 3 * rows[:, 1] + rng.normal(size=3000)
    if is_classifier(model):
        target = target > np.median(target)
    model.fit(rows, target)
    expected = model.predict_proba(rows) if is_classifier(model) else model.predict(rows)
    np.testing.assert_allclose(compile_trees(model)(rows), expected, rtol=0, atol=TOLERANCE)


def test_compiled_trees_that_differ_fall_back_to_the_lean_path_and_say_by_how_much(
    orders, monkeypatch
) -> None:
    from goldenpath.serving import predictor as serving

    def off_by_a_little(estimator):
        trees = compile_trees(estimator)
        return lambda encoded: trees(encoded) + 1e-3

    monkeypatch.setattr(serving, "compile_trees", off_by_a_little)
    model = fit(orders, FOREST)
    predictor = lean_predictor(model, CONTRACT)
    assert predictor.how == "lean"
    kind = "sklearn.ensemble._forest.RandomForestRegressor"
    found = re.fullmatch(
        f"{kind}'s own predict on the encoded rows, equal to the pipeline's predictions on "
        f"{CHECK_ROWS} sample rows; the compiled path's predictions differ from the pipeline's "
        rf"by up to ([\d.e+-]+), more than {TOLERANCE:g}",
        predictor.reason,
    )
    assert found and float(found[1]) == pytest.approx(1e-3), predictor.reason
    assert same_predictions(predictor, model, orders)


class ByNames(TransformerMixin, BaseEstimator):
    """A transformer whose output depends on getting a DataFrame: the lean path cannot
    reproduce what the pipeline computes."""

    def fit(self, frame, target=None):
        return self

    def transform(self, frame):
        return np.asarray(frame, dtype=float) * (2.0 if hasattr(frame, "columns") else 1.0)


def test_a_lean_path_that_differs_falls_back_to_the_pipeline_and_says_by_how_much(
    orders,
) -> None:
    encode = ColumnTransformer([("distance", ByNames(), ["distance_km"])])
    model = Pipeline([("encode", encode), ("estimator", build_model(CONTRACT, _ridge())[-1])])
    model.fit(orders[CONTRACT.feature_names], orders[CONTRACT.target.name])
    predictor = lean_predictor(model, CONTRACT)
    assert (predictor.how, predictor.lean) == ("pipeline", False)
    assert predictor.reason.startswith("the pipeline's own predict; not compiled: ")
    assert "; the lean path's predictions differ from the pipeline's by up to " in predictor.reason
    assert predictor.reason.endswith(f", more than {TOLERANCE:g}")
    assert same_predictions(predictor, model, orders)


def _ridge() -> ModelParams:
    return ModelParams.model_validate(RIDGE)


class DataFrameOnly(TransformerMixin, BaseEstimator):
    def fit(self, frame, target=None):
        return self

    def transform(self, frame):
        return frame[["distance_km"]].to_numpy()


def test_a_path_that_fails_names_its_error(orders) -> None:
    encode = ColumnTransformer([("distance", DataFrameOnly(), ["distance_km"])])
    model = Pipeline([("encode", encode), ("estimator", fit(orders, BOOSTING)[-1])])
    model.fit(orders[CONTRACT.feature_names], orders[CONTRACT.target.name])
    predictor = lean_predictor(model, CONTRACT)
    assert predictor.how == "pipeline"
    assert "the compiled path failed: IndexError: " in predictor.reason
    assert "; the lean path failed: IndexError: " in predictor.reason


def test_a_model_that_is_not_the_pipeline_is_served_through_its_own_predict() -> None:
    class Constant:
        def predict(self, frame):
            return np.full(len(frame), 7.0)

    predictor = lean_predictor(Constant(), CONTRACT)
    assert predictor.describe() == {
        "prediction_path": "pipeline",
        "prediction_path_reason": f"the model's own predict: {__name__}.Constant is not a "
        "Pipeline that starts with the contract's encoding",
    }
    assert predictor.predict([CONTRACT.example, CONTRACT.example]).tolist() == [7.0, 7.0]


def save(model, path: Path, rows, version: str, **fields) -> Path:
    features = rows[CONTRACT.feature_names]
    model_io.save_model(model, path, model_io.trusted_types(model, "sklearn"), {}, features)
    record = ChampionRecord.of(
        str(path), fields.pop("name", USE_CASE.name), version, "run", {"mae": 1.0}
    )
    ChampionRecord(**{**record.__dict__, **fields}).write(path)
    return path


@pytest.fixture(scope="module")
def compiled_and_lean(orders, tmp_path_factory) -> Path:
    """A global gradient-boosting champion (compiled) and a city's own Ridge (lean)."""
    champion = save(
        fit(orders, BOOSTING), tmp_path_factory.mktemp("paths") / "champion", orders, "4"
    )
    rows = orders[orders[USE_CASE.segment] == "porto"]
    own = champion / "segments" / "porto"
    save(fit(rows, RIDGE), own, rows, "2", name=f"{USE_CASE.name}-porto", segment="porto")
    return champion


def test_version_and_the_start_up_log_name_each_models_path(compiled_and_lean, caplog) -> None:
    with caplog.at_level(logging.INFO), TestClient(create_app(str(compiled_and_lean))) as client:
        version = client.get("/version").json()
        answer = client.post("/predict", json=[CONTRACT.example | {"city": "porto"}]).json()
    assert answer["models"] == [f"{USE_CASE.name}-porto/2"]  # the lean model does serve
    assert version["prediction_path"] == "compiled"
    assert "HistGradientBoostingRegressor's trees run compiled" in version["prediction_path_reason"]
    porto = version["segments"]["porto"]
    assert (porto["model_version"], porto["prediction_path"]) == ("2", "lean")
    assert "Ridge is not a tree ensemble" in porto["prediction_path_reason"]

    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("prediction path")]
    assert lines == [
        f"prediction path of {USE_CASE.name}/4: compiled, {version['prediction_path_reason']}",
        f"prediction path of the {USE_CASE.segment} models of porto: lean, "
        f"{porto['prediction_path_reason']}",
    ]
    [serving] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("serving")]
    assert f"version 4 from {compiled_and_lean}: compiled predict, " in serving


def test_a_fallback_to_the_pipeline_is_a_warning_in_the_start_up_log(orders, tmp_path, caplog):
    encode = ColumnTransformer([("distance", ByNames(), ["distance_km"])])
    model = Pipeline([("encode", encode), ("estimator", build_model(CONTRACT, _ridge())[-1])])
    model.fit(orders[CONTRACT.feature_names], orders[CONTRACT.target.name])
    path = tmp_path / "champion"
    features = orders[CONTRACT.feature_names]
    model_io.save_model(model, path, model_io.trusted_types(model, "sklearn"), {}, features)
    ChampionRecord.of(str(path), USE_CASE.name, "5", "run", {"mae": 1.0}).write(path)
    with caplog.at_level(logging.INFO), TestClient(create_app(str(path))) as client:
        version = client.get("/version").json()
    assert version["prediction_path"] == "pipeline"
    [warning] = [r for r in caplog.records if r.getMessage().startswith("prediction path")]
    assert warning.levelno == logging.WARNING
    assert warning.getMessage() == (
        f"prediction path of {USE_CASE.name}/5: pipeline, {version['prediction_path_reason']}"
    )
