"""TestService: the prediction service, on a served model, answers the project's contract.

In-process (FastAPI's TestClient on `create_app`), on `model_dir` and `model_set`: it
is ready and answers the contract's example; its OpenAPI document is valid and
describes the contract (every feature, its range or categories, the example, the
target); a batch of the contract's samples is answered as the pipeline predicts them,
and as each order alone; a request that breaks the contract gets a 422 naming each
field; with segment models, each order goes to its segment's model or the global one;
and every prediction is logged, with the caller's key, in the tests' prediction log.
"""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from ...core import model_io
from ...core.contract import Contract
from ...serving.app import create_app
from ...serving.predictor import TOLERANCE
from ..fixtures import SEGMENT_VERSION, SERVED_VERSION

HALF_A_CENT = 0.005  # the service rounds its answers to 2 decimals


def plain(rows) -> list[dict]:
    """Table rows as JSON-ready dicts (NumPy scalars to Python's)."""
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in rows]


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
        answer, target = response.json(), use_case.contract.target
        [minutes] = answer[target.name]
        assert target.minimum <= minutes <= target.maximum
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
        assert order["required"] == contract.feature_names
        assert set(order["properties"]) == {*contract.feature_names, contract.key}
        assert order["examples"] == [dict(contract.example)]
        for feature in contract.features:
            field = order["properties"][feature.name]
            assert field["description"] == feature.description, feature.name
            if feature.is_categorical:
                assert field["enum"] == list(feature.categories), feature.name
            else:
                assert (field.get("minimum"), field.get("maximum")) == (
                    feature.minimum,
                    feature.maximum,
                ), feature.name
        assert contract.target.name in schemas["Predictions"]["properties"]

    def test_a_batch_is_answered_as_the_pipeline_predicts(
        self, service, contract: Contract, orders, model_dir
    ) -> None:
        rows = plain(orders[contract.feature_names].head(300).to_dict(orient="records"))
        answer = service.post("/predict", json=rows).json()[contract.target.name]
        pipeline = model_io.load_model(str(model_dir)).predict(orders[contract.feature_names])
        assert answer == pytest.approx(pipeline[:300], abs=HALF_A_CENT + TOLERANCE, rel=0)
        alone = [
            service.post("/predict", json=row).json()[contract.target.name] for row in rows[:10]
        ]
        assert [minutes for [minutes] in alone] == answer[:10]

    def test_a_request_that_breaks_the_contract_gets_422_naming_each_field(
        self, service, contract: Contract
    ) -> None:
        wrong = {
            f.name: "not-a-category" if f.is_categorical else "not a number"
            for f in contract.features
        }
        response = service.post("/predict", json=dict(wrong) | {"not_a_feature": 1})
        assert response.status_code == 422
        fields = {str(error["loc"][-1]) for error in response.json()["detail"]}
        assert {*contract.feature_names, "not_a_feature"} <= fields

    def test_each_order_goes_to_its_segments_model_or_the_global_one(
        self, model_set, use_case, orders
    ) -> None:
        path, own = model_set
        contract, segment = use_case.contract, use_case.segment
        values = next(f for f in contract.features if f.name == segment).categories
        firsts = [orders[orders[segment] == value].iloc[0] for value in values]
        batch = plain(row[contract.feature_names] for row in firsts)
        with TestClient(create_app(str(path))) as client:
            answer = client.post("/predict", json=batch).json()
            version = client.get("/version").json()
        served = f"{use_case.name}-{own}/{SEGMENT_VERSION}"
        assert answer["models"] == [served] + [f"{use_case.name}/{SERVED_VERSION}"] * (
            len(values) - 1
        )
        expected = model_io.load_model(str(path / "segments" / own)).predict(
            contract.frame(batch[:1])
        )
        assert answer[contract.target.name][0] == round(float(expected[0]), 2)
        assert version["segments"][own]["model_version"] == SEGMENT_VERSION

    def test_predictions_are_logged_with_the_callers_key(
        self, model_dir, contract: Contract, prediction_log
    ) -> None:
        from ...monitoring.store import PREDICTION, open_store

        order = dict(contract.example) | {contract.key: 424242}
        start = datetime.now(UTC) - timedelta(minutes=1)
        with TestClient(create_app(str(model_dir))) as client:  # its log is written at exit
            answer = client.post("/predict", json=order).json()[contract.target.name]
        logged = open_store(contract, str(prediction_log)).predictions(
            start, datetime.now(UTC) + timedelta(minutes=1)
        )
        mine = logged[logged[contract.key] == 424242]
        assert mine[PREDICTION].tolist() == answer
        assert mine["model_version"].tolist() == [SERVED_VERSION]
