"""HTTP API: POST /predict behind the feature contract, plus health, readiness, metrics, version."""

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from pydantic import BaseModel, Field

from ..contract import Order, as_frame
from .model import ServedModel, default_model_uri, load_served_model

MAX_BATCH = 1000
MAX_BODY_BYTES = 1 << 20  # generous for MAX_BATCH orders; larger bodies get 413

REQUESTS = Counter("http_requests_total", "HTTP requests", ["path", "status"])
LATENCY = Histogram("http_request_seconds", "Time to answer a request", ["path"])
PREDICTIONS = Counter("predictions_total", "Orders predicted")

Batch = Annotated[list[Order], Field(min_length=1, max_length=MAX_BATCH)]


class Predictions(BaseModel):
    delivery_minutes: list[float]
    model_version: str


def create_app(model_uri: str | None = None) -> FastAPI:
    """The service for `model_uri` (default: MODEL_URI, else the registry's champion)."""
    served: dict[str, ServedModel] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        served["model"] = load_served_model(model_uri or default_model_uri())
        yield
        served.clear()

    app = FastAPI(title="{{ cookiecutter.project_name }}", lifespan=lifespan)

    @app.middleware("http")
    async def observe(request: Request, call_next):
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
            response = JSONResponse(
                {
                    "detail": f"request body over {MAX_BODY_BYTES} bytes: send at most "
                    f"{MAX_BATCH} orders per request"
                },
                status_code=413,
            )
        else:
            start = time.perf_counter()
            response = await call_next(request)
            LATENCY.labels(request.url.path).observe(time.perf_counter() - start)
        REQUESTS.labels(request.url.path, str(response.status_code)).inc()
        return response

    @app.post("/predict")
    def predict(orders: Order | Batch) -> Predictions:
        """Minutes to delivery for one order or a batch (always returned as a list)."""
        batch = orders if isinstance(orders, list) else [orders]
        model = served["model"]
        minutes = model.predictor.predict(as_frame(batch))
        PREDICTIONS.inc(len(batch))
        return Predictions(delivery_minutes=minutes.round(2).tolist(), model_version=model.version)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready")
    def ready() -> JSONResponse:
        is_ready = "model" in served
        return JSONResponse({"ready": is_ready}, status_code=200 if is_ready else 503)

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/version")
    def version() -> dict[str, str]:
        return served["model"].describe()

    return app
