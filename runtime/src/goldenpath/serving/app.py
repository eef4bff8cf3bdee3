"""HTTP API: POST /predict behind the feature contract, plus health, readiness, metrics, version.

Every route, /predict included, goes through the app's middleware: metrics,
and the API key when SERVE_API_KEY is set. /predict is a plain ASGI route
(endpoint.py) that hands the valid orders to `predict_orders`; concurrent
requests share model calls (batching.py) through a lean or compiled predict
(predictor.py), each order to its segment's model where it has one (routing.py).
"""

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, Info, generate_latest
from starlette.routing import Route

from ..core import project
from ..core.contract import UseCase
from ..core.derived import InvalidDerived
from ..core.tasks import Task
from ..monitoring.live import PredictionMonitor
from .batching import MicroBatcher, Rows
from .endpoint import NotReady, PredictEndpoint, one_line, unseen_check
from .middleware import Observe, RequireApiKey
from .model import ServedSet, default_model_uri, load_served_set
from .openapi import PROBABILITIES, Readiness, document, problem
from .predictor import Predictor, lean_predictor
from .routing import Router
from .settings import Settings

LOADING = "loading the model"
STOPPED = "the service has stopped"
# A model call slower than this (on a full batch) runs in a thread of its own, so the
# event loop stays responsive; faster ones stay on the loop, where they cost less.
SLOW_CALL_S = 0.010
# SERVE_API_KEY guards everything but these: health checks and the API's documentation.
OPEN_PATHS = ("/health", "/ready", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json")

PREDICTIONS = Counter("predictions_total", "Orders predicted")
BATCHES = Histogram("prediction_batch_orders", "Orders per model call", buckets=(1, 4, 16, 64, 256))
CALL_SECONDS = Gauge("model_call_seconds", "One model call on BATCH_MAX_ORDERS orders, at start")
SERVING = Info("serving", "The model served, and how")

log = logging.getLogger(__name__)


def create_app(
    model_uri: str | None = None,
    use_case: UseCase | None = None,
    settings: Settings | None = None,
) -> FastAPI:
    """The service for `model_uri` (default: MODEL_URI, else this commit's champion).

    It becomes ready only once the model fits the use case's contract and has
    answered a real prediction; until then /ready and /predict say why not (503).
    `use_case` defaults to the project's (core/project.py), `settings` to the
    environment's (settings.py).
    """
    use_case = use_case or project.use_case()
    settings = settings or Settings.from_env()
    contract = use_case.contract
    served: dict[str, Any] = {"problem": LOADING}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        served.clear()
        served["problem"] = LOADING
        uri = model_uri or default_model_uri()
        try:
            model = load_served_set(uri, contract)
            task = served["task"] = model.main.task(contract)
            predictor = lean_predictor(model.main.predictor, contract)
            own_predictors = {
                value: lean_predictor(own.predictor, contract) for value, own in model.own.items()
            }
            call_s = predictor.call_seconds(contract, settings.batch_max_orders)
            router = Router(
                use_case.segment,
                (predictor, _label(model.main)),
                {value: (own_predictors[value], _label(own)) for value, own in model.own.items()},
                digits=task.digits,
            )

            def predict_rows(rows: Rows) -> list[tuple[Any, str]]:
                BATCHES.observe(len(rows))
                return router(rows)

            served["refuse_unseen"] = unseen_check(model.known_values(contract, use_case.segment))
            served["batcher"] = MicroBatcher(
                predict_rows,
                max_batch=settings.batch_max_orders,
                max_wait_s=settings.batch_max_wait_ms / 1000,
                max_queued=settings.max_queued_orders,
                in_thread=call_s > SLOW_CALL_S,
                alone=(InvalidDerived,),
            )
            await served["batcher"].predict([dict(contract.example)])  # a real prediction
            served["monitor"] = PredictionMonitor.start(use_case, model)
        except Exception as error:
            served["problem"] = str(error)
            log.error("not ready: %s", one_line(error, limit=2000))
        else:
            served["model"] = model
            served["version"] = _version(model, predictor, own_predictors)
            del served["problem"]
            how = {
                "predict": predictor.how,
                "model_calls": "thread" if call_s > SLOW_CALL_S else "event loop",
                "segment_models": str(len(model.own)),
            }
            record = model.main.record
            SERVING.info({**how, "model_version": record.model_version})
            CALL_SECONDS.set(call_s)
            detail = (
                f"{how['predict']} predict, {call_s * 1000:.1f} ms per call of "
                f"{settings.batch_max_orders} orders, on the {how['model_calls']}"
            )
            name, version = record.model_name, record.model_version
            if model.own:
                detail += f"; {len(model.own)} {use_case.segment} models of their own"
            log.info("serving %s version %s from %s: %s", name, version, uri, detail)
            _log_prediction_paths(_label(model.main), predictor, own_predictors, use_case.segment)
        # What is loaded by now (libraries, the model: millions of objects) stays: out of
        # the collector's sight, a full collection takes 1 ms instead of 300, p99's whole budget.
        gc.freeze()
        yield
        if "batcher" in served:
            await served.pop("batcher").close()
        if "monitor" in served:  # what is still queued reaches the prediction log
            await asyncio.to_thread(served.pop("monitor").close)
        served.clear()
        served["problem"] = STOPPED

    async def predict_orders(rows: Rows) -> dict[str, Any]:
        if "problem" in served:
            raise NotReady(served["problem"])
        served["refuse_unseen"](rows)
        answers = await served["batcher"].predict(rows)
        PREDICTIONS.inc(len(rows))
        served["monitor"].record(rows, answers)  # logged and counted off this path
        return answer(served["task"], answers) | {
            "model_version": served["model"].main.record.model_version,
            "models": [model for _, model in answers],
        }

    def answer(task: Task, answers: list[tuple[Any, str]]) -> dict[str, Any]:
        """A regression's predictions; a classifier's classes, and their probabilities."""
        target = contract.target.name
        if not task.is_classification:
            return {target: [value for value, _ in answers]}
        probabilities = [values for values, _ in answers]
        classes = task.classes_of(np.array(probabilities)).tolist()
        named = [dict(zip(task.classes, values, strict=True)) for values in probabilities]
        return {target: classes, PROBABILITIES: named}

    app = FastAPI(title=use_case.title, lifespan=lifespan)
    predict = PredictEndpoint(
        contract,
        predict_orders,
        settings.body_timeout_s,
        overloaded=lambda: "batcher" in served and served["batcher"].overloaded,
    )
    app.router.routes.insert(0, Route("/predict", predict, methods=["POST"]))  # matched first
    not_ready = problem("Not ready: the reason (no model, a model of another contract...)")

    @app.get("/health")
    def health() -> dict[str, str]:
        """The process answers (readiness is /ready)."""
        return {"status": "ok"}

    @app.get("/ready", responses={200: {"model": Readiness}, 503: not_ready | {"model": Readiness}})
    def ready() -> JSONResponse:
        """Ready once the model fits the contract and has answered a real prediction."""
        if "problem" in served:
            return JSONResponse({"ready": False, "reason": served["problem"]}, status_code=503)
        return JSONResponse({"ready": True})

    @app.get("/metrics", response_class=PlainTextResponse)
    def metrics() -> Response:
        """Prometheus text format: requests, latency, predictions, orders per model call."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/version", responses={503: not_ready})
    def version() -> JSONResponse:
        """The model served: name, version, run, git commit, data hash, DVC experiment, and
        for it and each segment's model, its prediction path (compiled, lean or pipeline)
        and why."""
        if "problem" in served:
            return JSONResponse({"detail": f"not ready: {served['problem']}"}, status_code=503)
        return JSONResponse(served["version"])

    protected = ["/predict", "/version", "/metrics"] if settings.api_key else None
    app.openapi_schema = document(app, contract, protected)
    if settings.api_key:
        app.add_middleware(RequireApiKey, key=settings.api_key, open_paths=OPEN_PATHS)
    app.add_middleware(Observe, paths=[route.path for route in app.routes])
    return app


def _label(model) -> str:
    return f"{model.record.model_name}/{model.record.model_version}"


def _version(model: ServedSet, predictor: Predictor, own: dict[str, Predictor]) -> dict[str, Any]:
    """What /version answers: the models' records, each with its prediction path."""
    described = model.describe() | predictor.describe()
    for value, own_predictor in own.items():
        described["segments"][value] |= own_predictor.describe()
    return described


def _log_prediction_paths(
    label: str, predictor: Predictor, own: dict[str, Predictor], segment: str
) -> None:
    """One line for the global model's prediction path and why; one for each (path, reason)
    the segments' models share. A fallback to the pipeline is a warning: it is the slowest."""

    def level(how: str) -> int:
        return logging.WARNING if how == "pipeline" else logging.INFO

    how, reason = predictor.how, predictor.reason
    log.log(level(how), "prediction path of %s: %s, %s", label, how, reason)
    shared: dict[tuple[str, str], list[str]] = {}
    for value, own_predictor in own.items():
        shared.setdefault((own_predictor.how, own_predictor.reason), []).append(value)
    for (how, reason), values in shared.items():
        models = f"the {segment} models of {', '.join(values)}"
        log.log(level(how), "prediction path of %s: %s, %s", models, how, reason)
