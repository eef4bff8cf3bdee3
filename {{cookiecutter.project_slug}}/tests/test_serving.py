import pytest
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }}.contract import EXAMPLE_ORDER, FEATURE_NAMES
from {{ cookiecutter.package_name }}.serving.app import MAX_BATCH, create_app


@pytest.fixture(scope="module")
def client(model_dir):
    with TestClient(create_app(str(model_dir))) as client:
        yield client


def test_one_order_and_a_batch_agree(client, orders) -> None:
    batch = orders[FEATURE_NAMES].head(20).to_dict(orient="records")
    together = client.post("/predict", json=batch).json()["delivery_minutes"]
    alone = [client.post("/predict", json=order).json()["delivery_minutes"][0] for order in batch]
    assert together == alone
    assert all(5 < minutes < 240 for minutes in together)


def test_invalid_fields_get_422_with_their_location(client) -> None:
    response = client.post("/predict", json=EXAMPLE_ORDER | {"distance_km": -3, "city": "atlantis"})
    assert response.status_code == 422
    locations = {tuple(error["loc"][-1:]) for error in response.json()["detail"]}
    assert ("distance_km",) in locations and ("city",) in locations


def test_missing_and_extra_fields_get_422(client) -> None:
    order = {k: v for k, v in EXAMPLE_ORDER.items() if k != "hour"} | {"tip": 1}
    fields = {str(e["loc"][-1]) for e in client.post("/predict", json=order).json()["detail"]}
    assert {"hour", "tip"} <= fields


def test_request_size_is_bounded(client) -> None:
    too_many = client.post("/predict", json=[EXAMPLE_ORDER] * (MAX_BATCH + 1))
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
    assert version["git_commit"] == "abc123" and version["data_md5"] == "d41d8"
    client.post("/predict", json=EXAMPLE_ORDER)
    metrics = client.get("/metrics").text
    assert "predictions_total" in metrics and 'path="/predict"' in metrics


def test_an_unloadable_model_fails_startup_with_advice(tmp_path) -> None:
    with pytest.raises(RuntimeError, match="make repro"), TestClient(create_app(str(tmp_path))):
        pass
