"""The service: predictions, readiness that means a model answered, its key, its limits, its log.

What any client sees (malformed requests, the OpenAPI document, fuzzing) is in test_api.py.
"""

import asyncio
import json
import logging
import re
import threading
import time

import pytest
from fastapi import Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from goldenpath.core import model_io
from goldenpath.core.contract import Contract, UseCase
from goldenpath.serving.app import create_app
from goldenpath.serving.batching import Overloaded
from goldenpath.serving.endpoint import PredictEndpoint
from goldenpath.serving.settings import BadSetting, Settings

from .usecase import CONTRACT, USE_CASE

TARGET = CONTRACT.target.name
KEY = "k" * 12 + "-test-key"


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


def test_health_ready_version_and_metrics(client) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json() == {"ready": True}
    version = client.get("/version").json()
    assert version["model_name"] == USE_CASE.name and version["model_version"] == "7"
    assert version["git_commit"] == "abc123" and version["git_dirty"] == "false"
    assert version["data_md5"] == "d41d8" and version["run_id"] == "run-1"
    client.post("/predict", json=CONTRACT.example)
    metrics = client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "predictions_total" in metrics.text and 'path="/predict"' in metrics.text
    assert 'model_version="7",predict="compiled",segment_models="0"' in metrics.text


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


def test_the_start_names_the_model_served_in_one_log_line(model_dir, caplog) -> None:
    with caplog.at_level(logging.INFO), TestClient(create_app(str(model_dir))):
        pass
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("serving")]
    assert f"serving {USE_CASE.name} version 7 from {model_dir}: compiled predict" in line


def test_a_failing_model_call_is_a_500_and_one_log_line(model_dir, monkeypatch, caplog) -> None:
    class BreaksAfterStart:
        """Predicts at start (readiness), then fails, as a model whose memory was corrupted."""

        def __init__(self, model) -> None:
            self.model, self.broken = model, False

        def predict(self, frame):
            if self.broken:
                raise MemoryError("a very long story\n" * 50)
            return self.model.predict(frame)

    served = []

    def breaks_after_start(model):
        served.append(BreaksAfterStart(model))
        return served[-1]

    monkeypatch.setattr(model_io, "single_threaded", breaks_after_start)
    with TestClient(create_app(str(model_dir))) as client:
        served[0].broken = True
        caplog.clear()
        responses = [client.post("/predict", json=CONTRACT.example) for _ in range(3)]
    assert [r.status_code for r in responses] == [500] * 3
    assert all("log" in r.json()["detail"] for r in responses)
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(errors) == 3 and not any(r.exc_info for r in errors)
    assert all("MemoryError" in r.getMessage() and "\n" not in r.getMessage() for r in errors)


def keyed_app(model_dir):
    return create_app(str(model_dir), settings=Settings.from_env({"SERVE_API_KEY": KEY}))


@pytest.mark.parametrize("path", ["/predict", "/version", "/metrics", "/no-such-path"])
def test_the_api_key_guards_every_route_but_health_checks_and_docs(model_dir, path) -> None:
    method = "POST" if path == "/predict" else "GET"
    body = {"json": CONTRACT.example} if method == "POST" else {}
    with TestClient(keyed_app(model_dir)) as client:
        for wrong in ({}, {"Authorization": f"Bearer {KEY[:-1]}"}, {"Authorization": KEY}):
            refused = client.request(method, path, headers=wrong, **body)
            assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
            assert "Authorization: Bearer" in refused.json()["detail"]
        good = {"Authorization": f"Bearer {KEY}"}
        assert client.request(method, path, headers=good, **body).status_code != 401
        for open_path in ("/health", "/ready", "/openapi.json", "/docs"):
            assert client.get(open_path).status_code == 200


def test_middleware_added_the_documented_way_covers_predict(model_dir) -> None:
    app = create_app(str(model_dir))

    @app.middleware("http")
    async def only_tenant_a(request: Request, call_next):
        if request.headers.get("x-tenant") != "a":
            return JSONResponse({"detail": "tenant a only"}, status_code=403)
        return await call_next(request)

    with TestClient(app) as client:
        for path in ("/predict", "/version"):
            method = "POST" if path == "/predict" else "GET"
            assert client.request(method, path, json=CONTRACT.example).status_code == 403
        allowed = client.post("/predict", json=CONTRACT.example, headers={"x-tenant": "a"})
        assert allowed.status_code == 200


@pytest.mark.parametrize(
    ("environment", "named"),
    [
        ({"SERVE_API_KEY": "short"}, "SERVE_API_KEY=(hidden): use at least 16"),
        ({"SERVE_API_KEY": "with a space in it, long"}, "SERVE_API_KEY=(hidden)"),
        ({"MAX_QUEUED_ORDERS": "10"}, "MAX_QUEUED_ORDERS='10'"),
        ({"PORT": "http"}, "PORT='http'"),
    ],
)
def test_a_bad_setting_is_refused_by_name(environment, named) -> None:
    with pytest.raises(BadSetting, match="^" + re.escape(named)):
        Settings.from_env(environment)


def test_settings_default_to_a_local_service_and_an_empty_value_is_unset() -> None:
    defaults = Settings.from_env({})
    assert (defaults.host, defaults.port, defaults.workers) == ("127.0.0.1", 8000, 1)
    assert defaults.api_key is None and not defaults.access_log
    assert Settings.from_env({"PORT": "", "SERVE_API_KEY": ""}) == defaults
    given = Settings.from_env({"PORT": "9000", "ACCESS_LOG": "true", "BATCH_MAX_WAIT_MS": "2.5"})
    assert (given.port, given.access_log, given.batch_max_wait_ms) == (9000, True, 2.5)
    with pytest.raises(BadSetting, match=r"^PORT='http': .*; WORKERS='0': "):  # all at once
        Settings.from_env({"PORT": "http", "WORKERS": "0"})


def call(endpoint: PredictEndpoint, receive) -> tuple[int, dict, bytes]:
    """(status, headers, body) of one POST /predict through the endpoint alone."""
    sent = []

    async def send(message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/predict", "headers": []}
    asyncio.run(endpoint(scope, receive, send))
    start, body = sent
    return start["status"], dict(start["headers"]), body["body"]


def test_a_body_that_never_ends_gets_408_and_the_connection_closed() -> None:
    async def trickle():
        await asyncio.sleep(0.02)
        return {"type": "http.request", "body": b"{", "more_body": True}

    endpoint = PredictEndpoint(CONTRACT, predict=None, body_timeout_s=0.2)
    status, headers, body = call(endpoint, trickle)
    assert status == 408 and headers[b"connection"] == b"close"
    assert b"within 0.2 s" in body


def test_an_overloaded_service_says_when_to_retry() -> None:
    async def overloaded(rows):
        raise Overloaded("2000 orders are waiting already")

    async def example():
        return {"type": "http.request", "body": json.dumps(CONTRACT.example).encode()}

    endpoint = PredictEndpoint(CONTRACT, overloaded, body_timeout_s=1)
    status, headers, body = call(endpoint, example)
    assert status == 503 and headers[b"retry-after"] == b"1" and b"retry" in body


def test_a_full_queue_refuses_a_request_before_parsing_it() -> None:
    async def junk():
        return {"type": "http.request", "body": b"not even JSON"}

    endpoint = PredictEndpoint(CONTRACT, predict=None, body_timeout_s=1, overloaded=lambda: True)
    status, headers, _ = call(endpoint, junk)
    assert status == 503 and headers[b"retry-after"] == b"1"  # not 422: it was never parsed


def test_a_slow_model_runs_off_the_event_loop(model_dir, monkeypatch) -> None:
    """Start-up measures the model call: a slow one gets a thread, so /health stays quick."""

    class Slow:
        def __init__(self, model) -> None:
            self.model = model

        def predict(self, frame):
            time.sleep(0.3)
            return self.model.predict(frame)

    monkeypatch.setattr(model_io, "single_threaded", Slow)
    with TestClient(create_app(str(model_dir))) as client:
        assert 'model_calls="thread"' in client.get("/metrics").text
        order = {"json": CONTRACT.example}
        predicting = threading.Thread(target=client.post, args=["/predict"], kwargs=order)
        predicting.start()
        time.sleep(0.05)
        start = time.perf_counter()
        assert client.get("/health").status_code == 200
        assert time.perf_counter() - start < 0.2  # not behind the 0.3 s model call
        predicting.join()


def test_each_order_goes_to_its_segments_model_or_the_global_one(model_set, orders) -> None:
    path, served_value = model_set
    segment = USE_CASE.segment
    values = next(f for f in CONTRACT.features if f.name == segment).categories
    rows = [orders[orders[segment] == value].iloc[0][CONTRACT.feature_names] for value in values]
    batch = [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in rows]
    with TestClient(create_app(str(path))) as client:
        answer = client.post("/predict", json=batch).json()
        own = f"{USE_CASE.name}-{served_value}/2"
        assert answer["models"] == [own] + [f"{USE_CASE.name}/7"] * (len(values) - 1)
        expected = model_io.load_model(str(path / "segments" / served_value)).predict(
            CONTRACT.frame(batch[:1])
        )
        assert answer[TARGET][0] == round(float(expected[0]), 2)
        assert client.get("/version").json()["segments"][served_value]["model_version"] == "2"
        metrics = client.get("/metrics").text
        fallback = "segment_fallback_orders_total{segment=" + f'"{values[1]}"' + "} 1.0"
        assert fallback in metrics
