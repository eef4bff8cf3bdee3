"""TestService: the prediction service, on a served model, answers the project's contract.

In-process (FastAPI's TestClient on `create_app`), on `model_dir` and `model_set`: it
is ready and answers the contract's example; rows read from a file as the pipeline reads
them are predicted by the service as by the model (train/serve parity, the project's
derived features included); its OpenAPI document is valid and
describes the contract (every feature, its range or categories, the example, the
target); a batch of the contract's samples is answered as the pipeline predicts them
(a regression's number; a classifier's class and every class's probability), and as
each order alone; a request that breaks the contract gets a 422 naming each
field; with segment models, each order goes to its segment's model or the global one;
and every prediction is logged, with the caller's key, in the tests' prediction log.
"""

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from ...core import model_io
from ...core.contract import Contract
from ...core.feature import MAX_TEXT
from ...core.tasks import task_of
from ...serving.app import create_app
from ...serving.endpoint import MAX_ERRORS
from ...serving.openapi import PROBABILITIES
from ...serving.predictor import TOLERANCE
from ..fixtures import SEGMENT_VERSION, SERVED_VERSION


def answered(contract: Contract, answer: dict) -> np.ndarray:
    """What the service answered, as numbers: a regression's predictions; a classifier's
    probabilities, a column per class in the contract's order (checked against its classes)."""
    if contract.task == "regression":
        return np.array(answer[contract.target.name], dtype=float)
    classes = tuple(contract.target.categories)
    probabilities = np.array([[p[c] for c in classes] for p in answer[PROBABILITIES]])
    assert all(tuple(p) == classes for p in answer[PROBABILITIES]), "every class, in order"
    decided = task_of(contract, 0.5).classes_of(probabilities).tolist()  # model_dir's threshold
    assert answer[contract.target.name] == decided, "each order's class is its probabilities'"
    return probabilities


def expected(contract: Contract, model_dir, rows) -> np.ndarray:
    """What the pipeline gives for `rows`, rounded as the service rounds its answers."""
    task = task_of(contract)
    model = model_io.load_model(str(model_dir))
    return task.outputs(model, contract.frame(rows)).round(task.digits)


def close(contract: Contract) -> float:
    """How far an answer may be from the pipeline's: half its last digit, and float noise."""
    return 0.5 * 10.0 ** -task_of(contract).digits + TOLERANCE


class TestService:
    @pytest.fixture(scope="class")
    @classmethod
    def service(cls, model_dir):
        with TestClient(create_app(str(model_dir))) as client:
            yield client

    def test_it_answers_the_contracts_example(self, service, use_case) -> None:
        assert service.get("/ready").json() == {"ready": True}
        response = service.post("/predict", json=use_case.contract.example)
        assert response.status_code == 200, response.text
        answer, contract = response.json(), use_case.contract
        [value] = answered(contract, answer)
        if contract.task == "regression":
            assert contract.target.minimum <= value <= contract.target.maximum
        else:
            assert value.sum() == pytest.approx(1, abs=len(value) * 1e-4)
        assert answer["models"] == [f"{use_case.name}/{SERVED_VERSION}"]
        version = service.get("/version").json()
        assert (version["model_name"], version["model_version"]) == (use_case.name, SERVED_VERSION)

    def test_its_openapi_document_is_valid_and_describes_the_contract(
        self, service, use_case
    ) -> None:
        from openapi_spec_validator import validate

        document = service.get("/openapi.json").json()
        validate(document)  # OpenAPI 3.1, the references of its responses resolved
        assert document["info"]["title"] == use_case.title
        contract = use_case.contract
        schemas = document["components"]["schemas"]
        order = schemas[contract.request_model.__name__]
        assert order.get("required", []) == contract.required  # a nullable feature's optional
        assert set(order["properties"]) == {*contract.feature_names, contract.key}
        assert order["examples"] == [dict(contract.example)]
        for feature in contract.features:
            field = order["properties"][feature.name]
            assert field["description"] == feature.description, feature.name
            if feature.nullable:  # its value, or null; null when left out
                assert field["anyOf"][1:] == [{"type": "null"}], feature.name
                assert "default" in field and field["default"] is None, feature.name
                field = field["anyOf"][0]
            if feature.high_cardinality:
                assert (field["type"], field["maxLength"]) == ("string", MAX_TEXT), feature.name
            elif feature.is_categorical:
                assert field["enum"] == list(feature.categories), feature.name
            elif feature.is_timestamp:
                assert (field["type"], field["format"]) == ("string", "date-time"), feature.name
            else:
                assert (field.get("minimum"), field.get("maximum")) == (
                    feature.minimum,
                    feature.maximum,
                ), feature.name
        answer = schemas["Predictions"]["properties"]
        assert contract.target.name in answer
        if contract.task != "regression":
            assert answer[contract.target.name]["items"]["enum"] == list(contract.target.categories)
            assert list(schemas["Probabilities"]["properties"]) == list(contract.target.categories)

    def test_a_batch_is_answered_as_the_pipeline_predicts(
        self, service, contract: Contract, orders, model_dir
    ) -> None:
        rows = contract.requests(orders.head(300))
        answer = answered(contract, service.post("/predict", json=rows).json())
        np.testing.assert_allclose(
            answer, expected(contract, model_dir, rows), atol=close(contract)
        )
        alone = [answered(contract, service.post("/predict", json=row).json()) for row in rows[:10]]
        assert np.array_equal(np.concatenate(alone), answer[:10])

    def test_training_and_serving_predict_the_same_rows_alike(
        self, service, contract: Contract, orders, model_dir, tmp_path
    ) -> None:
        """Train/serve parity: rows read from a file and validated, as the pipeline's stages
        read them, through the model; the same rows as JSON through the service (the
        request model, the derived features, the fast path): the same predictions."""
        path = tmp_path / "orders.csv"
        orders.head(300).to_csv(path, index=False)
        table = contract.validate(pd.read_csv(path), str(path))
        model = model_io.load_model(str(model_dir))
        task = task_of(contract)
        pipeline = task.outputs(model, table[contract.feature_names]).round(task.digits)
        response = service.post("/predict", json=contract.requests(table))
        assert response.status_code == 200, response.text
        np.testing.assert_allclose(
            answered(contract, response.json()), pipeline, atol=close(contract)
        )

    def test_a_request_that_breaks_the_contract_gets_422_naming_each_field(
        self, service, contract: Contract
    ) -> None:
        wrong = {
            f.name: 7 if f.high_cardinality else "not-a-category" if f.is_categorical else "no"
            for f in contract.features
        }
        names = [*contract.feature_names, "not_a_feature"]
        for start in range(0, len(names), MAX_ERRORS):  # a 422 lists the first MAX_ERRORS
            broken = names[start : start + MAX_ERRORS]
            order = dict(contract.example) | {name: wrong.get(name, 1) for name in broken}
            response = service.post("/predict", json=order)
            assert response.status_code == 422
            fields = {str(error["loc"][-1]) for error in response.json()["detail"]}
            assert set(broken) <= fields, response.json()

    def test_each_order_goes_to_its_segments_model_or_the_global_one(
        self, model_set, use_case, orders
    ) -> None:
        path, own = model_set
        contract, segment = use_case.contract, use_case.segment
        values = next(f for f in contract.features if f.name == segment).categories
        firsts = [orders[orders[segment] == value].iloc[0] for value in values]
        batch = contract.requests(pd.DataFrame(firsts))
        with TestClient(create_app(str(path))) as client:
            answer = client.post("/predict", json=batch).json()
            version = client.get("/version").json()
        served = f"{use_case.name}-{own}/{SEGMENT_VERSION}"
        assert answer["models"] == [served] + [f"{use_case.name}/{SERVED_VERSION}"] * (
            len(values) - 1
        )
        own_model = expected(contract, path / "segments" / own, batch[:1])
        np.testing.assert_allclose(answered(contract, answer)[:1], own_model, atol=close(contract))
        assert version["segments"][own]["model_version"] == SEGMENT_VERSION

    def test_predictions_are_logged_with_the_callers_key(
        self, model_dir, contract: Contract, prediction_log
    ) -> None:
        """A regression's prediction, a binary classifier's probability of the positive
        class, a multiclass one's of its most likely class with every class's."""
        from ...monitoring.store import PREDICTION, PROBABILITIES, open_store

        order = dict(contract.example) | {contract.key: 424242}
        start = datetime.now(UTC) - timedelta(minutes=1)
        with TestClient(create_app(str(model_dir))) as client:  # its log is written at exit
            [answer] = answered(contract, client.post("/predict", json=order).json())
        logged = open_store(contract, str(prediction_log)).predictions(
            start, datetime.now(UTC) + timedelta(minutes=1)
        )
        mine = logged[logged[contract.key] == 424242]
        if contract.task == "multiclass":  # the most likely class's, and every class's
            assert mine[PROBABILITIES].tolist() == [list(answer)]
        if contract.task == "regression":
            headline = answer
        else:  # a class's probability: the positive one's, or the most likely one's
            headline = answer[-1] if contract.task == "binary" else max(answer)
        assert mine[PREDICTION].tolist() == [headline]
        assert mine["model_version"].tolist() == [SERVED_VERSION]
