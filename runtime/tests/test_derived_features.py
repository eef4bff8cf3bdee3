"""Derived features: the project's feature code, written once and run inside the model.

A derived feature is a top-level function of the contract's features (a project's
features.py): the model computes it as its first step, so training, every serving path
and batch scoring apply the same code; the model records the code's version, and a
model meets no other version of it.
"""

import asyncio
import importlib
import sys
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from goldenpath import Contract, Derived, Feature
from goldenpath.core import model_io
from goldenpath.core.contract import InvalidContract
from goldenpath.core.derived import DeriveFeatures, FeatureCodeFailed, InvalidDerived
from goldenpath.core.modeling import build_model
from goldenpath.core.params import ModelParams
from goldenpath.core.rows import REASON, check_rows
from goldenpath.serving.app import create_app
from goldenpath.serving.batching import MicroBatcher
from goldenpath.serving.predictor import TOLERANCE, lean_predictor

from .usecase import CONTRACT, SPEED_KMH, USE_CASE


def minutes_at_speed(rows: pd.DataFrame) -> pd.Series:
    """The ride at the city's usual speed: a number from a number and a category."""
    return rows["distance_km"] / rows["city"].map(SPEED_KMH) * 60


def order_size(rows: pd.DataFrame) -> np.ndarray:
    return np.where(rows["items"] > 4, "large", "small")


def minutes_per_item(rows: pd.DataFrame) -> pd.Series:
    """Infinite for 13 items, which the contract allows: a bug the start-up check meets."""
    return rows["distance_km"] / (rows["items"] - 13).abs()


def erratic(rows: pd.DataFrame) -> pd.Series:
    """Infinite at exactly 29.5 km, which the contract allows: a bug only a request meets."""
    return 1 / (rows["distance_km"] - 29.5).abs()


def fragile(rows: pd.DataFrame) -> pd.Series:
    """Raises at exactly 29.5 km: the project's bug, not the caller's."""
    if (rows["distance_km"] == 29.5).any():
        raise ZeroDivisionError("29.5 km")
    return rows["distance_km"] * 2


RIDE = Feature("minutes_at_speed", "The ride at the city's usual speed", float, 0.0, 120.0)
SIZE = Feature("order_size", "Small or large", str, categories=("small", "large"))
DERIVED = (Derived(RIDE, minutes_at_speed), Derived(SIZE, order_size))
WITH_CODE = replace(CONTRACT, derived=DERIVED)
FAMILIES = {
    "histogram boosting": ("sklearn.ensemble.HistGradientBoostingRegressor", "compiled"),
    "ridge": ("sklearn.linear_model.Ridge", "lean"),
}


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return CONTRACT.validate(USE_CASE.example_data(2000, 3), "the orders")


def fitted(contract, rows, estimator="sklearn.ensemble.HistGradientBoostingRegressor"):
    model = build_model(contract, ModelParams.model_validate({"_target_": estimator}))
    return model.fit(rows[contract.feature_names], rows[contract.target.name])


def test_a_derived_feature_is_a_top_level_function_and_a_feature_of_its_kind() -> None:
    assert WITH_CODE.inputs == (*CONTRACT.features, RIDE, SIZE)
    with pytest.raises(InvalidContract, match="top of one of the project's modules"):
        Derived(RIDE, lambda rows: rows["distance_km"])

    def nested(rows):
        return rows["distance_km"]

    with pytest.raises(InvalidContract, match="not a lambda, a nested function"):
        Derived(RIDE, nested)
    with pytest.raises(InvalidContract, match="is a datetime"):
        Derived(Feature("at", "a time", __import__("datetime").datetime), minutes_at_speed)
    with pytest.raises(InvalidContract, match=r"'at' \(usecase.py\): give it as Derived"):
        Derived("at", minutes_at_speed)
    shop = Feature("shop", "Its shop", str, high_cardinality=True, unseen="refuse")
    with pytest.raises(InvalidContract, match="refuse the values of the features it is computed"):
        Derived(shop, minutes_at_speed)
    with pytest.raises(InvalidContract, match=r"names \['items'\] twice"):
        replace(CONTRACT, derived=(Derived(replace(RIDE, name="items"), minutes_at_speed),))
    with pytest.raises(InvalidContract, match=r"remove \['minutes_at_speed'\]"):
        replace(WITH_CODE, example={**CONTRACT.example, "minutes_at_speed": 1.0})
    with pytest.raises(InvalidContract, match=r"Derived\(Feature"):
        replace(CONTRACT, derived=(RIDE,))


def test_code_that_fails_on_the_example_is_refused_when_the_contract_loads() -> None:
    broken = Derived(replace(RIDE, name="broken"), _misspelt)
    with pytest.raises(
        FeatureCodeFailed, match=r"tests.test_derived_features._misspelt raised KeyError"
    ):
        replace(CONTRACT, derived=(broken,))


def _misspelt(rows: pd.DataFrame) -> pd.Series:
    return rows["distance"]


@pytest.mark.parametrize("family", FAMILIES)
def test_the_model_computes_them_and_every_path_predicts_alike(family, rows) -> None:
    estimator, path = FAMILIES[family]
    model = fitted(WITH_CODE, rows, estimator)
    assert isinstance(model[0], DeriveFeatures)
    encoded = list(model[1].get_feature_names_out())
    assert "numeric__minutes_at_speed" in encoded and "categorical__order_size_large" in encoded
    predictor = lean_predictor(model, WITH_CODE)
    assert predictor.how == path, predictor.reason
    served = WITH_CODE.served(rows.head(300))
    pipeline = model.predict(rows[CONTRACT.feature_names].head(300))
    assert np.max(np.abs(predictor.predict(served) - pipeline)) <= TOLERANCE
    # The code is the model's: a contract without it keeps its steps, and its predictions.
    plain = fitted(CONTRACT, rows, estimator)
    assert [name for name, _ in plain.steps] == ["encode", "estimator"]
    assert not np.allclose(plain.predict(rows[CONTRACT.feature_names]), model.predict(rows))


def test_training_refuses_values_the_declaration_refuses(rows) -> None:
    narrow = replace(WITH_CODE, derived=(Derived(replace(RIDE, maximum=5.0), minutes_at_speed),))
    with pytest.raises(InvalidDerived, match=r"'minutes_at_speed' \(tests.test_derived_features"):
        fitted(narrow, rows)
    with pytest.raises(InvalidDerived, match=r"values not numbers within \[0.0, 5.0\], e.g. rows"):
        fitted(narrow, rows)
    listed = replace(SIZE, categories=("small", "medium"))
    with pytest.raises(InvalidDerived, match=r"not of its categories \['small', 'medium'\]"):
        fitted(replace(WITH_CODE, derived=(Derived(listed, order_size),)), rows)
    infinite = Derived(replace(RIDE, name="per_item", maximum=1e9), erratic)
    table = rows.assign(distance_km=np.where(rows.index % 50 == 0, 29.5, rows["distance_km"]))
    with pytest.raises(InvalidDerived, match=r"'per_item'.*values not numbers within"):
        fitted(replace(CONTRACT, derived=(infinite,)), table)


def served(tmp_path, rows, function) -> TestClient:
    contract = replace(CONTRACT, derived=(Derived(replace(RIDE, maximum=1e9), function),))
    model = fitted(contract, rows[rows["distance_km"] != 29.5])
    model_io.save_model(model, tmp_path / "model", model_io.trusted_types(model, "sklearn"), {},
                        rows[CONTRACT.feature_names])  # fmt: skip
    return TestClient(create_app(str(tmp_path / "model"), replace(USE_CASE, contract=contract)))


def test_a_served_order_the_code_gives_no_value_is_a_422_naming_it(tmp_path, rows) -> None:
    good, bad = dict(CONTRACT.example), dict(CONTRACT.example) | {"distance_km": 29.5}
    with served(tmp_path, rows, erratic) as client:
        assert client.post("/predict", json=good).status_code == 200
        refused = client.post("/predict", json=[good, bad])
        assert refused.status_code == 422
        assert refused.json()["detail"] == [
            {
                "type": "derived_value",
                "loc": ["body", 1],
                "msg": "tests.test_derived_features.erratic gives minutes_at_speed no value",
            }
        ]
        sent = client.post("/predict", json=good | {"minutes_at_speed": 3.0})  # never a field
        assert sent.status_code == 422
        assert "a derived feature, which the model computes" in sent.json()["detail"][0]["msg"]


def test_feature_code_that_raises_on_an_order_is_the_services_fault(tmp_path, rows, caplog):
    good, bad = dict(CONTRACT.example), dict(CONTRACT.example) | {"distance_km": 29.5}
    with served(tmp_path, rows, fragile) as client:
        assert client.post("/predict", json=good).status_code == 200
        failed = client.post("/predict", json=[good, bad])
    assert failed.status_code == 500  # not a 422 telling the caller to fix the function
    assert "fragile raised ZeroDivisionError: 29.5 km" in caplog.text


def test_code_that_fails_on_the_contracts_samples_keeps_the_service_unready(tmp_path, rows):
    with served(tmp_path, rows[rows["items"] != 13], minutes_per_item) as client:
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert "minutes_per_item): no value for" in ready.json()["reason"]


def test_a_batch_answers_each_caller_alone_when_one_callers_rows_fail(rows) -> None:
    contract = replace(CONTRACT, derived=(Derived(replace(RIDE, maximum=1e9), erratic),))
    model = fitted(contract, rows[rows["distance_km"] != 29.5])
    predict = lean_predictor(model, contract).predict
    good, bad = dict(CONTRACT.example), dict(CONTRACT.example) | {"distance_km": 29.5}
    requests = [contract.served(pd.DataFrame([order])) for order in (good, bad, good)]
    batcher = MicroBatcher(lambda r: predict(r).tolist(), max_batch=32, max_wait_s=0.05,
                           max_queued=100, alone=(InvalidDerived,))  # fmt: skip

    async def together():
        try:
            return await asyncio.gather(
                *(batcher.predict(request) for request in requests), return_exceptions=True
            )
        finally:
            await batcher.close()

    first, refused, last = asyncio.run(together())
    assert isinstance(refused, InvalidDerived)
    assert first == last == predict(requests[0]).tolist()


def test_a_model_meets_only_the_feature_code_it_was_trained_with(tmp_path, rows, monkeypatch):
    """Its version covers the code, the project's modules it imports and the declaration;
    not a comment, a docstring or the layout."""
    package = tmp_path / "team"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "speeds.py").write_text("FACTOR = 3\n")
    code = package / "features.py"
    code.write_text(
        "from .speeds import FACTOR\n\ndef ride(rows):\n    return rows['distance_km'] * FACTOR\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))

    def declared(feature=RIDE) -> Contract:
        for name in ("team.speeds", "team.features"):
            if name in sys.modules:
                importlib.reload(sys.modules[name])
        ride = importlib.import_module("team.features").ride
        return replace(CONTRACT, derived=(Derived(feature, ride),))

    model = fitted(declared(), rows)
    folder = tmp_path / "model"
    trusted = model_io.trusted_types(model, "sklearn", ["team."])
    model_io.save_model(model, folder, trusted, {}, rows[CONTRACT.feature_names])
    assert model_io.metadata(str(folder))[model_io.FEATURE_CODE] == model[0].code_version_
    model_io.check_fits(str(folder), declared(), "the model")

    code.write_text(
        '"""The team\'s features."""\nfrom .speeds import FACTOR  # km/h\n\n\n'
        "def ride(rows):\n    '''Minutes.'''\n    return rows[\"distance_km\"] * FACTOR\n"
    )
    model_io.check_fits(str(folder), declared(), "the model")  # the same code, laid out anew
    wider = replace(RIDE, maximum=RIDE.maximum * 2)
    with pytest.raises(model_io.IncompatibleModel, match="another version of the feature code"):
        model_io.check_fits(str(folder), declared(wider), "the model")
    (package / "speeds.py").write_text("FACTOR = 4\n")  # a helper the function imports
    with pytest.raises(model_io.IncompatibleModel, match="another version of the feature code"):
        model_io.check_fits(str(folder), declared(), "the model")
    with pytest.raises(model_io.IncompatibleModel, match="no longer declares"):
        model_io.check_fits(str(folder), CONTRACT, "the model")
    plain = fitted(CONTRACT, rows)
    trusted = model_io.trusted_types(plain, "sklearn")
    model_io.save_model(plain, tmp_path / "plain", trusted, {}, rows[CONTRACT.feature_names])
    with pytest.raises(model_io.IncompatibleModel, match="trained without the derived features"):
        model_io.check_fits(str(tmp_path / "plain"), declared(), "the model")
    for name in ("team.features", "team.speeds", "team"):
        sys.modules.pop(name)


def test_batch_scoring_rejects_the_rows_the_code_gives_no_value_and_scores_the_rest(rows):
    contract = replace(CONTRACT, derived=(Derived(replace(RIDE, maximum=1e9), erratic),))
    batch = rows.head(5).drop(columns="delivery_minutes").assign(distance_km=[1, 29.5, 2, 3, "x"])
    checked = check_rows(contract, batch.astype(object))
    assert checked.scorable["order_id"].tolist() == [1, 3, 4]
    assert checked.rejected[REASON].tolist() == [
        "tests.test_derived_features.erratic gives minutes_at_speed no value",
        "distance_km 'x' is not a number",
    ]
