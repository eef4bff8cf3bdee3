"""POST /predict: the body read within bounds, validated against the contract, then predicted.

A plain ASGI endpoint, mounted as a route of the FastAPI app, so the app's
middleware (metrics, the API key, any you add) applies to it as to every other
route; only FastAPI's per-request layers (dependencies, body models) are skipped,
which cost more than a batched prediction (bench/serving.py measures it). The
body is parsed and validated in one step by pydantic-core; what to do with the
valid orders is the function it is given (`PredictOrders`).

Whatever the request, the answer is small, valid JSON: errors are listed up to
MAX_ERRORS (with their count), echo only short scalar inputs, and never NaN;
a failing model call logs one line, not a traceback.
"""

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError
from pydantic_core import to_json
from starlette.types import Receive, Scope, Send

from ..core.contract import Contract
from ..core.derived import InvalidDerived
from ..core.modeling import KnownValues
from .batching import Overloaded, Rows
from .settings import MAX_ORDERS

MAX_BODY_BYTES = 1 << 20  # generous for MAX_ORDERS orders; larger bodies get 413
MAX_ERRORS = 10  # listed in a 422; `error_count` tells how many there were
MAX_ECHO = 64  # characters of an invalid value or of a field name echoed back
MAX_MESSAGE = 200  # characters of a message: pydantic spells out every allowed value
RETRY_AFTER_S = 1

# The valid orders -> the JSON body of the 200 answer; raises NotReady or Overloaded.
PredictOrders = Callable[[Rows], Awaitable[dict[str, Any]]]

OVERLOADED = (
    503,
    to_json({"detail": "too many orders waiting: retry after the delay in Retry-After"}),
    [(b"retry-after", b"%d" % RETRY_AFTER_S)],
)

log = logging.getLogger(__name__)


class NotReady(Exception):
    """The service cannot predict yet (or at all); str() says why."""


class UnseenValues(Exception):
    """Values of features of unseen="refuse" the model never saw: (order, feature, value)."""

    def __init__(self, found: list[tuple[int, str, Any]]) -> None:
        super().__init__(f"{len(found)} values the model never saw")
        self.found = found


def unseen_check(known: KnownValues) -> Callable[[Rows], None]:
    """What refuses a request's values the model that predicts each row never saw in
    training, for the features of unseen="refuse" (raises UnseenValues)."""
    if not known.main:
        return lambda rows: None

    def check(rows: Rows) -> None:
        found = []
        for index, row in enumerate(rows):
            learnt = known.of(row[known.segment]) if known.own else known.main
            found += [
                (index, name, row[name])
                for name, values in learnt.items()
                if row[name] is not None and row[name] not in values
            ]
        if found:
            raise UnseenValues(found)

    return check


class PredictEndpoint:
    """The ASGI endpoint: a request's valid orders go to `predict`; anything else gets its 4xx."""

    def __init__(
        self,
        contract: Contract,
        predict: PredictOrders,
        body_timeout_s: float,
        overloaded: Callable[[], bool] = lambda: False,
    ) -> None:
        order = contract.keyed_request_model  # the features, and the caller's key (logged)
        self.one_order = TypeAdapter(order)
        many = Annotated[list[order], Field(min_length=1, max_length=MAX_ORDERS)]
        self.many_orders = TypeAdapter(many)
        self.target = contract.target.name
        self.derived = contract.derived_names
        self.predict = predict
        self.body_timeout_s = body_timeout_s
        self.overloaded = overloaded  # True: refuse before parsing the body, the costly part

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        status, body, headers = await self.answer(scope, receive)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(body)),
            *headers,
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def answer(self, scope: Scope, receive: Receive) -> tuple[int, bytes, list]:
        """(status, JSON body, extra headers) for one request."""
        closing = [(b"connection", b"close")]  # the rest of the body is never read
        try:
            async with asyncio.timeout(self.body_timeout_s):
                body = await _read_body(scope, receive)
        except TimeoutError:
            detail = f"the request body did not arrive within {self.body_timeout_s:g} s"
            return 408, _detail(detail), closing
        if body is None:
            detail = f"request body over {MAX_BODY_BYTES} bytes: send at most {MAX_ORDERS} orders"
            return 413, _detail(detail), closing
        if self.overloaded():
            return OVERLOADED
        try:
            if body.lstrip()[:1] == b"[":
                orders = self.many_orders.validate_json(body)
            else:
                orders = [self.one_order.validate_json(body)]
        except ValidationError as error:
            return 422, _field_errors(error, self.target, self.derived), []
        rows, many = [order.model_dump() for order in orders], body.lstrip()[:1] == b"["
        try:
            answer = await self.predict(rows)
        except NotReady as problem:
            return 503, _detail(f"not ready: {problem}"), []
        except Overloaded:
            return OVERLOADED
        except InvalidDerived as problem:  # valid fields the project's feature code refuses
            return 422, _derived_errors(problem, many), []
        except UnseenValues as unseen:
            return 422, _unseen_errors(unseen, many), []
        except Exception as error:  # one line, not a traceback: a bad model fails every call
            log.error("prediction failed: %s", one_line(error))
            return 500, _detail("prediction failed; see the service's log"), []
        return 200, to_json(answer), []


async def _read_body(scope: Scope, receive: Receive) -> bytes | None:
    """The body, or None once it is declared or turns out larger than MAX_BODY_BYTES."""
    declared = next((value for name, value in scope["headers"] if name == b"content-length"), b"")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b""  # nobody to answer; whatever is sent is dropped
        chunk, more = message.get("body", b""), message.get("more_body", False)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def one_line(error: Exception, limit: int = 300) -> str:
    """`error` for a log: its type and message on one line, at most `limit` characters."""
    text = " ".join(f"{type(error).__name__}: {error}".split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _detail(message: str) -> bytes:
    return to_json({"detail": message})


def _field_errors(error: ValidationError, target: str, derived: Sequence[str] = ()) -> bytes:
    """422 in FastAPI's shape (`loc` starts with "body"), bounded whatever the request."""
    detail = []
    for e in error.errors(include_url=False, include_context=False)[:MAX_ERRORS]:
        message = _message(e, target, derived)
        entry = {"type": e["type"], "loc": ["body", *map(_short, e["loc"])], "msg": message}
        if _echoable(e["input"]):
            entry["input"] = e["input"]
        detail.append(entry)
    return to_json({"detail": detail, "error_count": error.error_count()})


def _unseen_errors(unseen: UnseenValues, many: bool) -> bytes:
    """422 in FastAPI's shape for the values a feature of unseen="refuse" never saw."""
    detail = [
        {
            "type": "unseen_value",
            "loc": ["body", *([index] if many else []), name],
            "msg": "a value the model never saw in training (unseen='refuse', usecase.py)",
            **({"input": value} if _echoable(value) else {}),
        }
        for index, name, value in unseen.found[:MAX_ERRORS]
    ]
    return to_json({"detail": detail, "error_count": len(unseen.found)})


def _derived_errors(problem: InvalidDerived, many: bool) -> bytes:
    """422 in FastAPI's shape for the orders the project's feature code gives no value
    (the batcher asks the model for each caller's orders alone, so the reasons are theirs)."""
    detail = [
        {"type": "derived_value", "loc": ["body", *([index] if many else [])], "msg": reason}
        for index, reason in enumerate(problem.reasons)
        if reason
    ]
    if not detail:  # not one order's alone: the report says which
        detail = [{"type": "derived_value", "loc": ["body"], "msg": " ".join(str(problem).split())}]
    return to_json({"detail": detail[:MAX_ERRORS], "error_count": len(detail)})


def _message(error: Any, target: str, derived: Sequence[str] = ()) -> str:
    """pydantic's message, bounded: a category of 3,000 values must not spell them all.
    A field the contract does not name says what it is: the target, a derived feature, or
    not a feature."""
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        if error["loc"][-1] == target:
            return f"{target} is the target, which the service predicts: leave it out"
        if error["loc"][-1] in derived:
            return "a derived feature, which the model computes from the others: leave it out"
        return "not a feature of the contract (a typo? every feature: GET /openapi.json)"
    if len(message) <= MAX_MESSAGE:
        return message
    if error["type"] == "literal_error":  # "Input should be 'a', 'b', ... or 'z'"
        shown = message[:MAX_MESSAGE].rsplit(", ", 1)[0]
        return f"{shown}, … (every value: the request schema, GET /openapi.json)"
    return message[: MAX_MESSAGE - 1] + "…"


def _short(part: str | int) -> str | int:
    return part if isinstance(part, int) or len(part) <= MAX_ECHO else part[:MAX_ECHO] + "…"


def _echoable(value: Any) -> bool:
    """A value small and plain enough to send back as it came (never NaN, never bytes)."""
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return abs(value) < 2**53  # beyond, JSON parsers lose digits
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str) and len(value) <= MAX_ECHO
