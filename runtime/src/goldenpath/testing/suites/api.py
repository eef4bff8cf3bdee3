"""TestApi: the project's API as any client meets it, in-process or as it is served.

Requests built from the project's contract: malformed ones (not UTF-8, not JSON, NaN,
a number too large, a wrong type for each kind of feature the contract has, an unknown
category or field, too many orders, a body too large, deep nesting) get a small JSON
422 (or 413) that counts every error; the OpenAPI document is valid with every
reference resolved and documents each answer; and schemathesis, drawing requests from
that document, valid and not, finds no 5xx and no answer the document does not promise.

In-process (FastAPI's TestClient on `create_app`, on `model_dir`) by default. With
SERVICE_URL set, against that running service instead, as a client would meet it:

    SERVICE_URL=http://127.0.0.1:8000 uv run pytest tests/test_goldenpath.py -k TestApi

Requests carry `Authorization: Bearer $SERVE_API_KEY` when it is set (in-process, the
service is then keyed too), and the document must say that the key guards PROTECTED.
"""

import json
import os

import pytest

from ...core.contract import Contract
from ...core.feature import MAX_TEXT
from ...serving.endpoint import MAX_BODY_BYTES, MAX_ERRORS
from ...serving.settings import MAX_ORDERS

SMALL_REPLY = 4096  # bytes: an error answer never grows with the request
PROTECTED = {"/predict", "/version", "/metrics"}  # what SERVE_API_KEY guards
EXAMPLES = 100  # schemathesis's requests per operation and generation mode


def example_with(contract: Contract, **raw_values: bytes) -> bytes:
    """The contract's example as JSON text, with some values replaced by raw bytes."""
    fields = [
        f'"{name}": '.encode() + raw_values.get(name, json.dumps(value).encode())
        for name, value in contract.example.items()
    ]
    return b"{" + b", ".join(fields) + b"}"


def malformed(contract: Contract) -> dict[str, bytes]:
    """Request bodies the service must refuse with a 422, by what is wrong with them: for
    each kind of feature the contract has (a number, an integer, a category, a
    high-cardinality text), its first."""
    example = json.dumps(dict(contract.example)).encode()
    cases = {
        "not UTF-8": b"\xff\xfe{",
        "invalid JSON": example[:-5],
        "not an object": b'"an order"',
        "an unknown field": example[:-1] + b', "tip": 2}',
        "a long unknown field": example[:-1] + b', "' + b"x" * 100_000 + b'": 1}',
        "a huge value in an unknown field": example[:-1] + b', "note": "' + b"x" * 900_000 + b'"}',
        "no orders": b"[]",
        "too many orders": json.dumps([dict(contract.example)] * (MAX_ORDERS + 1)).encode(),
        "deeply nested": b"[" * 100_000 + b"]" * 100_000,
    }
    if contract.required:  # a nullable feature may be left out: not one of these
        left_out = {k: v for k, v in contract.example.items() if k != contract.required[0]}
        cases["a missing field"] = json.dumps(left_out).encode()
        cases["many empty orders"] = b"[" + b", ".join([b"{}"] * MAX_ORDERS) + b"]"
    kinds = {  # a number: a float feature's, else an integer's
        "number": [f.name for f in contract.features if f.dtype is float] or contract.numeric,
        "integer": [f.name for f in contract.features if f.dtype is int],
        "category": contract.listed,
        "text": contract.high_cardinality,
        "timestamp": contract.timestamps,
    }
    wrong = {
        "number": {
            "NaN": b"NaN",
            "Infinity": b"-Infinity",
            "a number too large for a float": b"1e400",
            "true as a number": b"true",
            "a string as a number": b'"2"',
        },
        "integer": {
            "an integer too large for anything": b"9" * 5000,
            "false as an integer": b"false",
            "a fraction as an integer": b"2.5",
        },
        "category": {"an unknown category": b'"atlantis"', "not UTF-8 in a string": b'"\xff"'},
        "timestamp": {"a number as a timestamp": b"1772000000", "not a time": b'"yesterday"'},
        "text": {"a number as text": b"7", "too long a text": b'"' + b"x" * (MAX_TEXT + 1) + b'"'},
    }
    for kind, names in kinds.items():
        if names:
            cases |= {
                case: example_with(contract, **{names[0]: raw}) for case, raw in wrong[kind].items()
            }
    return cases


def bearer(api_key: str | None) -> dict[str, str]:
    """The header each request carries: a new dict (TestClient adds to the one it is given)."""
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def strict_json(text: str):
    """json.loads as JavaScript's, Go's or jq's parser: NaN and Infinity are not JSON."""

    def refuse(constant: str):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def refusal_problem(response) -> str | None:
    """What is wrong with `response` as the answer to a malformed request, if anything."""
    if response.status_code != 422:
        return f"{response.status_code}: {response.text[:300]}"
    if len(response.content) >= SMALL_REPLY:
        return f"{len(response.content)} bytes, not under {SMALL_REPLY}"
    answer = strict_json(response.text)
    if not (1 <= len(answer["detail"]) <= MAX_ERRORS and answer["error_count"] >= 1):
        return f"{len(answer['detail'])} errors listed, {answer['error_count']} counted"
    if not all(error["loc"][0] == "body" and error["msg"] for error in answer["detail"]):
        return f"an error outside the body, or without a message: {answer['detail']}"
    return None


def unresolved_references(document: dict) -> set[str]:
    """The `$ref`s anywhere in `document` that point nowhere (request bodies included,
    which openapi-spec-validator does not follow)."""
    from referencing import Registry
    from referencing.exceptions import Unresolvable
    from referencing.jsonschema import DRAFT202012

    def references(node):
        if isinstance(node, dict):
            yield from [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            for value in node.values():
                yield from references(value)
        elif isinstance(node, list):
            for value in node:
                yield from references(value)

    resolver = Registry().with_resource("", DRAFT202012.create_resource(document)).resolver()
    unresolved = set()
    for reference in set(references(document)):
        try:
            resolver.lookup(reference)
        except Unresolvable:
            unresolved.add(reference)
    return unresolved


class TestApi:
    @pytest.fixture(scope="class")
    @classmethod
    def service_url(cls) -> str:
        """The running service's URL (SERVICE_URL), or "" to test in-process."""
        return os.environ.get("SERVICE_URL", "").rstrip("/")

    @pytest.fixture(scope="class")
    @classmethod
    def api_key(cls) -> str | None:
        return os.environ.get("SERVE_API_KEY") or None

    @pytest.fixture(scope="class")
    @classmethod
    def client(cls, request, service_url, api_key, use_case):
        if service_url:
            import httpx2

            with httpx2.Client(base_url=service_url, headers=bearer(api_key), timeout=30) as client:
                yield client
        else:
            from fastapi.testclient import TestClient

            from ...serving.app import create_app

            app = create_app(str(request.getfixturevalue("model_dir")), use_case)
            with TestClient(app, headers=bearer(api_key)) as client:
                yield client

    @pytest.fixture(scope="class")
    @classmethod
    def api_schema(cls, request, service_url, use_case):
        import schemathesis

        if service_url:
            return schemathesis.openapi.from_url(f"{service_url}/openapi.json")
        from ...serving.app import create_app

        # An app of its own: schemathesis runs its lifespan, until the tests end.
        app = create_app(str(request.getfixturevalue("model_dir")), use_case)
        return schemathesis.openapi.from_asgi("/openapi.json", app)

    def test_a_malformed_request_gets_a_small_json_422(self, client, contract) -> None:
        cases = malformed(contract)
        problems = {}
        for case, body in cases.items():
            headers = {"content-type": "application/json"}
            problem = refusal_problem(client.post("/predict", content=body, headers=headers))
            if problem:
                problems[case] = problem
        wrong = "".join(f"\n{case}: {problem}" for case, problem in problems.items())
        assert not problems, f"{len(problems)} of {len(cases)} malformed requests answered:{wrong}"

    def test_every_error_is_counted_but_only_the_first_are_listed(self, client, contract) -> None:
        # Each order an unknown field and none of the required features: an error for each.
        orders = json.dumps([{"not_a_feature": 1}] * MAX_ORDERS).encode()
        answer = client.post("/predict", content=orders).json()
        assert answer["error_count"] == MAX_ORDERS * (1 + len(contract.required))
        assert len(answer["detail"]) == MAX_ERRORS

    def test_a_body_too_large_gets_413(self, client) -> None:
        response = client.post("/predict", content=b"[" + b" " * MAX_BODY_BYTES + b"]")
        assert response.status_code == 413
        assert "orders" in strict_json(response.text)["detail"]

    def test_other_methods_get_405_with_allow(self, client) -> None:
        response = client.get("/predict")
        assert response.status_code == 405 and response.headers["allow"] == "POST"
        assert strict_json(response.text)["detail"]

    def test_a_valid_request_is_still_answered(self, client, contract) -> None:
        response = client.post("/predict", json=[dict(contract.example)] * 2)
        assert response.status_code == 200, response.text[:300]
        assert len(response.json()[contract.target.name]) == 2

    def test_the_openapi_document_is_valid_and_every_reference_resolves(
        self, client, api_key, contract
    ) -> None:
        from openapi_spec_validator import validate
        from referencing.exceptions import Unresolvable

        document = client.get("/openapi.json").json()
        validate(document)  # OpenAPI 3.1, and the references of its responses resolved
        assert unresolved_references(document) == set()
        # Both checks fail on a reference that points nowhere, as the list of orders' once did.
        moved = json.loads(json.dumps(document).replace("#/components/schemas/", "#/$defs/"))
        with pytest.raises(Unresolvable):
            validate(moved)
        assert f"#/$defs/{contract.request_model.__name__}" in unresolved_references(moved)
        predict = document["paths"]["/predict"]["post"]["responses"]
        assert {"200", "408", "413", "422", "500", "503"} <= set(predict)
        assert "Retry-After" in predict["503"]["headers"]
        assert "text/plain" in document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
        protected = {
            path
            for path, item in document["paths"].items()
            for op in item.values()
            if "security" in op
        }
        assert protected == (PROTECTED if api_key else set()), "SERVE_API_KEY: with it, or not?"

    @pytest.mark.parametrize("mode", ["positive", "negative"])
    def test_the_service_keeps_the_promises_of_its_openapi_document(
        self, api_schema, api_key, mode: str
    ) -> None:
        """Requests drawn from the document, valid ones and not: no 5xx, every answer as
        documented (schemathesis's checks)."""
        from hypothesis import HealthCheck, given, settings
        from schemathesis import GenerationMode

        operations = [result.ok() for result in api_schema.get_all_operations()]
        assert {operation.label for operation in operations} >= {"POST /predict", "GET /version"}
        if mode == "negative":  # only a request with a body can be invalid
            operations = [operation for operation in operations if len(operation.body)]
        for operation in operations:

            @given(case=operation.as_strategy(generation_mode=GenerationMode(mode)))
            @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
            def answered_as_documented(case) -> None:
                case.call_and_validate(headers=bearer(api_key))

            answered_as_documented()
