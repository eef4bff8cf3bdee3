"""The service: predictions, validation, readiness that means a model answered."""

import pytest
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }}.core import model_io
from {{ cookiecutter.package_name }}.core.contract import Contract, UseCase
from {{ cookiecutter.package_name }}.serving.app import MAX_BATCH, create_app
from {{ cookiecutter.package_name }}.usecase import USE_CASE

from .conftest import CONTRACT

TARGET = CONTRACT.target.name


@pytest.fixture(scope="module")
def client(model_dir):
    with TestClient(create_app(str(model_dir))) as client:
        yield client


def test_one_order_and_a_batch_agree(client, orders) -> None:
    batch = orders[CONTRACT.feature_names].head(20).to_dict(orient="records")
    together = client.post("/predict", json=batch).json()[TARGET]
    alone = [client.post("/predict", json=order).json()[TARGET][0] for order in batch]
    assert together == alone
    low, high = CONTRACT.target.minimum, CONTRACT.target.maximum
    assert all(low <= value <= high for value in together)


def test_invalid_fields_get_422_with_their_location(client) -> None:
    numeric = next(f for f in CONTRACT.features if not f.is_categorical)
    categorical = next(f for f in CONTRACT.features if f.is_categorical)
    order = CONTRACT.example | {numeric.name: numeric.minimum - 1, categorical.name: "atlantis"}
    response = client.post("/predict", json=order)
    assert response.status_code == 422
    locations = {error["loc"][-1] for error in response.json()["detail"]}
    assert {numeric.name, categorical.name} <= locations


def test_missing_and_extra_fields_get_422(client) -> None:
    missing = CONTRACT.feature_names[0]
    order = {k: v for k, v in CONTRACT.example.items() if k != missing} | {"tip": 1}
    fields = {str(e["loc"][-1]) for e in client.post("/predict", json=order).json()["detail"]}
    assert {missing, "tip"} <= fields


def test_request_size_is_bounded(client) -> None:
    too_many = client.post("/predict", json=[CONTRACT.example] * (MAX_BATCH + 1))
    assert too_many.status_code in (413, 422)
    assert client.post("/predict", json=[]).status_code == 422
    huge = client.post(
        "/predict",
        content=b"[" + b" " * (2 << 20) + b"]",
        headers={"content-type": "application/json"},
    )
    assert huge.status_code == 413


def test_health_ready_version_and_metrics(client) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json() == {"ready": True}
    version = client.get("/version").json()
    assert version["model_name"] == USE_CASE.name and version["model_version"] == "7"
    assert version["git_commit"] == "abc123" and version["git_dirty"] == "false"
    assert version["data_md5"] == "d41d8" and version["run_id"] == "run-1"
    client.post("/predict", json=CONTRACT.example)
    metrics = client.get("/metrics").text
    assert "predictions_total" in metrics and 'path="/predict"' in metrics


def test_without_a_model_the_service_says_why_it_is_not_ready(tmp_path) -> None:
    with TestClient(create_app(str(tmp_path))) as client:
        ready = client.get("/ready")
        assert ready.status_code == 503 and "make repro" in ready.json()["reason"]
        predicted = client.post("/predict", json=CONTRACT.example)
        assert predicted.status_code == 503 and "dvc pull" in predicted.json()["detail"]
        assert client.get("/health").status_code == 200


def test_a_model_of_another_contract_is_refused_with_the_fix(model_dir) -> None:
    """A champion trained where the contract had one more feature (another branch)."""
    kept = CONTRACT.features[:-1]
    example = {feature.name: CONTRACT.example[feature.name] for feature in kept}
    narrower = Contract(kept, CONTRACT.target, CONTRACT.key, example)
    other = UseCase(USE_CASE.name, USE_CASE.experiment, narrower, USE_CASE.segment)
    with TestClient(create_app(str(model_dir), use_case=other)) as client:
        reason = client.get("/ready").json()["reason"]
        assert f"{CONTRACT.feature_names[-1]!r}, not in the contract" in reason
        assert "dvc checkout" in reason and "make repro" in reason
        assert client.post("/predict", json=CONTRACT.example).status_code in (422, 503)


def test_ready_means_a_real_prediction_succeeded(model_dir, monkeypatch) -> None:
    class Damaged:
        def predict(self, frame):
            raise ValueError("the model cannot predict")

    monkeypatch.setattr(model_io, "single_threaded", lambda model: Damaged())
    with TestClient(create_app(str(model_dir))) as client:
        assert "cannot predict" in client.get("/ready").json()["reason"]
