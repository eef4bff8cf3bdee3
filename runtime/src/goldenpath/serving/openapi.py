"""The service's OpenAPI document: every route, status and media type it answers with.

FastAPI documents its own routes; POST /predict (a plain ASGI route) and the
shapes shared by every error are added here, as components that every
reference resolves to (tests/test_api.py checks the document with a standard
validator and fuzzes the service from it).
"""

from typing import Any, Literal

from fastapi import FastAPI
from pydantic import BaseModel, Field, create_model

from ..core.contract import Contract
from .endpoint import MAX_BODY_BYTES, MAX_ERRORS, RETRY_AFTER_S
from .settings import MAX_ORDERS

REF = "#/components/schemas/{model}"
PROBABILITIES = "probabilities"  # a classifier's answer: each order's, by class
BEARER = "bearer"  # the security scheme's name, when SERVE_API_KEY is set


class Problem(BaseModel):
    """What went wrong, for people."""

    detail: str


class FieldError(BaseModel):
    type: str
    loc: list[str | int] = Field(description='Where: "body", then the order index and field')
    msg: str
    input: Any = Field(None, description="The value sent, when short and plain")


class ValidationProblem(BaseModel):
    """The first invalid fields of the request, and how many there were in all."""

    detail: list[FieldError] = Field(max_length=MAX_ERRORS)
    error_count: int


class Readiness(BaseModel):
    ready: bool
    reason: str | None = Field(None, description="Why not, when not ready")


def problem(description: str) -> dict[str, Any]:
    """A documented error answer, in FastAPI's `responses=` form."""
    return {"description": description, "model": Problem}


UNAUTHORIZED = "SERVE_API_KEY is set and the request lacks `Authorization: Bearer <key>`"


def document(app: FastAPI, contract: Contract, protected: list[str] | None) -> dict[str, Any]:
    """FastAPI's document plus POST /predict; `protected`: the paths SERVE_API_KEY guards."""
    schema = app.openapi()
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    predictions = create_model(
        "Predictions",
        model_version=(str, Field(description="the global model's version")),
        models=(
            list[str],
            Field(
                max_length=MAX_ORDERS,
                description="the model that predicted each order: <name>/<version> (a "
                "segment's own where it beats the global model, else the global one)",
            ),
        ),
        **_answers(contract),
    )
    for model in (contract.keyed_request_model, predictions, Problem, ValidationProblem):
        _add_component(components, model)
    order = {"$ref": REF.format(model=contract.keyed_request_model.__name__)}
    orders = {"type": "array", "items": order, "minItems": 1, "maxItems": MAX_ORDERS}

    def answer(description: str, model: str, **extra: Any) -> dict[str, Any]:
        content = {"application/json": {"schema": {"$ref": REF.format(model=model)}}}
        return {"description": description, "content": content, **extra}

    retry = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}
    schema["paths"]["/predict"] = {
        "post": {
            "summary": "Predict",
            "operationId": "predict",
            "description": f"{contract.target.description}, for one order or a list of up to "
            f"{MAX_ORDERS} (always a list back, in the same order).",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"anyOf": [order, orders]}}},
            },
            "responses": {
                "200": answer("Predictions, in the order of the request", "Predictions"),
                "408": answer("The body did not arrive in time", "Problem"),
                "413": answer(f"Body over {MAX_BODY_BYTES} bytes", "Problem"),
                "422": answer("Invalid JSON or orders: the first errors", "ValidationProblem"),
                "500": answer("The model failed (the service's log says why)", "Problem"),
                "503": answer(
                    f"Not ready (the reason), or overloaded (retry after {RETRY_AFTER_S} s)",
                    "Problem",
                    headers=retry,
                ),
            },
        }
    }
    if protected:
        scheme = {"type": "http", "scheme": "bearer", "description": "The key in SERVE_API_KEY"}
        schema["components"]["securitySchemes"] = {BEARER: scheme}
        for path in protected:
            for operation in schema["paths"][path].values():
                operation["security"] = [{BEARER: []}]
                operation["responses"]["401"] = answer(UNAUTHORIZED, "Problem")
    return schema


def _answers(contract: Contract) -> dict[str, Any]:
    """The answer's fields: a regression's predictions; a classifier's classes and, for each
    order, every class's probability."""
    target = contract.target
    if contract.task == "regression":
        return {target.name: (list[float], Field(max_length=MAX_ORDERS))}
    classes = tuple(target.categories)
    decision = "the most probable class"
    if contract.task == "binary":
        decision = (
            f"{classes[-1]!r} where its probability reaches the threshold (GET /version), "
            f"else {classes[0]!r}"
        )
    by_class = create_model(
        "Probabilities",
        __doc__=f"Each class's probability, {len(classes)} that sum to 1 (rounded)",
        **{
            f"class_{index}": (float, Field(ge=0, le=1, alias=value))
            for index, value in enumerate(classes)
        },
    )
    return {
        target.name: (
            list[Literal[classes]],  # type: ignore[valid-type]
            Field(max_length=MAX_ORDERS, description=f"each order's class: {decision}"),
        ),
        PROBABILITIES: (list[by_class], Field(max_length=MAX_ORDERS)),
    }


def _add_component(components: dict[str, Any], model: type[BaseModel]) -> None:
    schema = model.model_json_schema(ref_template=REF)
    components.update(schema.pop("$defs", {}))
    components[model.__name__] = schema
