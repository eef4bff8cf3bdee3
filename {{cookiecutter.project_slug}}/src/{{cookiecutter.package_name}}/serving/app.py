"""HTTP API: POST /predict behind the feature contract, plus health, readiness, metrics, version.

/predict is the hot path and is served as plain ASGI in front of FastAPI: the
framework's per-request layers (routing, dependencies, its middleware) cost
more than a batched prediction (bench/serving.py measures it). The body is
parsed and validated in one step by pydantic-core, no pandas object is built
per request, and concurrent requests share model calls (batching.py).
Everything else, and the OpenAPI docs of /predict, is plain FastAPI.
"""

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from pydantic import Field, TypeAdapter, ValidationError, create_model
from pydantic_core import to_json
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..core.contract import UseCase
from ..monitoring.live import PredictionMonitor
from ..usecase import USE_CASE
from .batching import MicroBatcher, Rows
from .model import default_model_uri, load_served_model
from .predictor import lean_predictor

MAX_BATCH = 1000
LOADING = "loading the model"
MAX_BODY_BYTES = 1 << 20  # generous for MAX_BATCH orders; larger bodies get 413

REQUESTS = Counter("http_requests_total", "HTTP requests", ["path", "status"])
LATENCY = Histogram("http_request_seconds", "Time to answer a request", ["path"])
PREDICTIONS = Counter("predictions_total", "Orders predicted")
BATCHES = Histogram("prediction_batch_orders", "Orders per model call", buckets=(1, 4, 16, 64, 256))

log = logging.getLogger(__name__)


def create_app(model_uri: str | None = None, use_case: UseCase = USE_CASE) -> ASGIApp:
    """The service for `model_uri` (default: MODEL_URI, else this commit's champion).

    It becomes ready only once the model fits the use case's contract and has
    answered a real prediction; until then /ready and /predict say why not (503).
    BATCH_MAX_ORDERS and BATCH_MAX_WAIT_MS tune the micro-batching.
    """
    contract = use_case.contract
    order = contract.keyed_request_model  # the features, and the caller's key (logged)
    one_order = TypeAdapter(order)
    orders_list = Annotated[list[order], Field(min_length=1, max_length=MAX_BATCH)]
    many_orders = TypeAdapter(orders_list)
    served: dict[str, Any] = {"problem": LOADING}

    def predict_rows(rows: Rows) -> list[float]:
        BATCHES.observe(len(rows))
        return served["predict"](rows).round(2).tolist()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        served["batcher"] = MicroBatcher(
            predict_rows,
            max_batch=int(os.environ.get("BATCH_MAX_ORDERS", "256")),
            max_wait_s=float(os.environ.get("BATCH_MAX_WAIT_MS", "1")) / 1000,
        )
        uri = model_uri or default_model_uri()
        try:
            model = load_served_model(uri, contract)
            served["predict"] = lean_predictor(model.predictor, contract)
            await served["batcher"].predict([dict(contract.example)])  # a real prediction
            served["monitor"] = PredictionMonitor.start(use_case, model.record, uri)
        except Exception as error:
            served["problem"] = str(error)
            log.error("not ready: %s", error)
        else:
            served["model"] = model
            del served["problem"]
            record = model.record
            log.info("serving %s version %s (%s)", record.model_name, record.model_version, uri)
        yield
        await served.pop("batcher").close()
        if "monitor" in served:  # what is still queued reaches the prediction log
            await asyncio.to_thread(served.pop("monitor").close)
        served.clear()

    async def answer(body: bytes) -> tuple[int, bytes]:
        """(status, JSON) for a /predict body: one order or a list of orders."""
        if "problem" in served:
            return 503, to_json({"detail": f"not ready: {served['problem']}"})
        try:
            if body.lstrip()[:1] == b"[":
                orders = many_orders.validate_json(body)
            else:
                orders = [one_order.validate_json(body)]
        except ValidationError as error:
            return 422, _field_errors(error)
        rows = [order.model_dump() for order in orders]
        try:
            minutes = await served["batcher"].predict(rows)
        except Exception:
            log.exception("prediction failed")
            return 500, to_json({"detail": "prediction failed; see the service's log"})
        PREDICTIONS.inc(len(orders))
        served["monitor"].record(rows, minutes)
        version = served["model"].record.model_version
        return 200, to_json({contract.target.name: minutes, "model_version": version})

    app = FastAPI(title="{{ cookiecutter.project_name }}", lifespan=lifespan)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready")
    def ready() -> JSONResponse:
        if "problem" in served:
            return JSONResponse({"ready": False, "reason": served["problem"]}, status_code=503)
        return JSONResponse({"ready": True})

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/version")
    def version() -> JSONResponse:
        if "problem" in served:
            return JSONResponse({"detail": f"not ready: {served['problem']}"}, status_code=503)
        return JSONResponse(served["model"].describe())

    app.openapi_schema = _openapi_with_predict(app, one_order, many_orders, contract.target.name)
    paths = frozenset(route.path for route in app.routes) | {"/predict"}
    return Observe(PredictEndpoint(app, answer), paths)


class PredictEndpoint:
    """POST /predict as plain ASGI; every other request goes on to FastAPI."""

    def __init__(self, app: ASGIApp, answer: Callable[[bytes], Awaitable[tuple[int, bytes]]]):
        self.app = app
        self.answer = answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/predict":
            await self.app(scope, receive, send)
            return
        if scope["method"] != "POST":
            status, body = 405, to_json({"detail": "Method Not Allowed: POST orders here"})
        elif (request := await _read_body(scope, receive)) is None:
            detail = f"request body over {MAX_BODY_BYTES} bytes: send at most {MAX_BATCH} orders"
            status, body = 413, to_json({"detail": detail})
        else:
            status, body = await self.answer(request)
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _read_body(scope: Scope, receive: Receive) -> bytes | None:
    """The body, or None once it is declared or turns out larger than MAX_BODY_BYTES."""
    declared = dict(scope["headers"]).get(b"content-length", b"")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b""
        chunk, more = message.get("body", b""), message.get("more_body", False)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _field_errors(error: ValidationError) -> bytes:
    """422 in FastAPI's shape: one entry per bad field, located in the body."""
    detail = [
        {"type": e["type"], "loc": ["body", *e["loc"]], "msg": e["msg"], "input": e["input"]}
        for e in error.errors(include_url=False)
    ]
    return to_json({"detail": detail})


def _openapi_with_predict(
    app: FastAPI, one_order: TypeAdapter, many_orders: TypeAdapter, target: str
) -> dict[str, Any]:
    """FastAPI's schema plus POST /predict, which is served outside FastAPI's routing."""
    schema = app.openapi()
    body = {"anyOf": [one_order.json_schema(), many_orders.json_schema()]}
    predictions = create_model(
        "Predictions", model_version=(str, ...), **{target: (list[float], ...)}
    )
    error = {"content": {"application/json": {}}}  # {"detail": ...}
    schema["paths"]["/predict"] = {
        "post": {
            "summary": "Predict",
            "description": "Minutes to delivery for one order or a list (always a list back).",
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "responses": {
                "200": {
                    "description": "Predictions, in the order of the request",
                    "content": {"application/json": {"schema": predictions.model_json_schema()}},
                },
                "413": error | {"description": f"Body over {MAX_BODY_BYTES} bytes"},
                "422": error | {"description": "One error per invalid field, with its location"},
            },
        }
    }
    return schema


class Observe:
    """Counts and times every request (plain ASGI: cheaper than @app.middleware)."""

    def __init__(self, app: ASGIApp, paths: frozenset[str]) -> None:
        self.app = app
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"] if scope["path"] in self.paths else "unmatched"
        status = 500

        async def send_and_observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        start = time.perf_counter()
        try:
            await self.app(scope, receive, send_and_observe)
        finally:
            LATENCY.labels(path).observe(time.perf_counter() - start)
            REQUESTS.labels(path, str(status)).inc()
