"""The API as any client meets it: its OpenAPI document, malformed requests, fuzzing.

In-process, on a small model, twice: open, and guarded by an API key (every request
then carries it), as a service is run either way.
"""

import json
from dataclasses import replace

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from pydantic import ValidationError
from referencing.exceptions import Unresolvable
from schemathesis import GenerationMode

from goldenpath.serving.app import create_app
from goldenpath.serving.endpoint import MAX_BODY_BYTES, MAX_ERRORS, MAX_MESSAGE, _field_errors
from goldenpath.serving.settings import MAX_ORDERS, Settings
from goldenpath.testing.suites.api import strict_json, unresolved_references

from .usecase import CONTRACT

KEY = "an-api-key-for-the-tests"
SMALL_REPLY = 4096  # bytes: an error answer never grows with the request
NUMBER = next(f for f in CONTRACT.features if f.dtype is float)
INTEGER = next(f for f in CONTRACT.features if f.dtype is int)
CATEGORY = next(f for f in CONTRACT.features if f.is_categorical)


@pytest.fixture(scope="module", params=[None, KEY], ids=["open", "keyed"])
def api_key(request) -> str | None:
    return request.param


@pytest.fixture(scope="module")
def auth(api_key) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def app_of(model_dir, api_key: str | None):
    settings = Settings.from_env({"SERVE_API_KEY": api_key} if api_key else {})
    return create_app(str(model_dir), settings=settings)


@pytest.fixture(scope="module")
def client(model_dir, api_key, auth):
    with TestClient(app_of(model_dir, api_key), headers=auth) as client:
        yield client


def example_with(**raw_values: str) -> bytes:
    """The contract's example as JSON text, with some values replaced by raw JSON text."""
    fields = [f'"{name}": {json.dumps(value)}' for name, value in CONTRACT.example.items()]
    fields = [
        f'"{name}": {raw_values[name]}' if name in raw_values else field
        for name, field in zip(CONTRACT.example, fields, strict=True)
    ]
    return ("{" + ", ".join(fields) + "}").encode()


EXAMPLE = json.dumps(CONTRACT.example).encode()
MALFORMED = {
    "not UTF-8": b"\xff\xfe{",
    "not UTF-8 in a string": example_with(**{CATEGORY.name: '"?"'}).replace(b'"?"', b'"\xff"'),
    "invalid JSON": EXAMPLE[:-5],
    "not an object": b'"an order"',
    "NaN": example_with(**{NUMBER.name: "NaN"}),
    "Infinity": example_with(**{NUMBER.name: "-Infinity"}),
    "a number too large for a float": example_with(**{NUMBER.name: "1e400"}),
    "an integer too large for anything": example_with(**{INTEGER.name: "9" * 5000}),
    "true as a number": example_with(**{NUMBER.name: "true"}),
    "false as an integer": example_with(**{INTEGER.name: "false"}),
    "a string as a number": example_with(**{NUMBER.name: '"2"'}),
    "a fraction as an integer": example_with(**{INTEGER.name: "2.5"}),
    "an unknown category": example_with(**{CATEGORY.name: '"atlantis"'}),
    "an unknown field": EXAMPLE[:-1] + b', "tip": 2}',
    "a long unknown field": EXAMPLE[:-1] + b', "' + b"x" * 100_000 + b'": 1}',
    "a huge value in an unknown field": EXAMPLE[:-1] + b', "note": "' + b"x" * 900_000 + b'"}',
    "a missing field": json.dumps(dict(list(CONTRACT.example.items())[1:])).encode(),
    "no orders": b"[]",
    "too many orders": json.dumps([CONTRACT.example] * (MAX_ORDERS + 1)).encode(),
    "many empty orders": b"[" + b", ".join([b"{}"] * MAX_ORDERS) + b"]",
    "deeply nested": b"[" * 100_000 + b"]" * 100_000,
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_request_gets_a_small_json_422(client, body) -> None:
    response = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text[:300]
    assert len(response.content) < SMALL_REPLY
    answer = strict_json(response.text)
    assert 1 <= len(answer["detail"]) <= MAX_ERRORS and answer["error_count"] >= 1
    assert all(error["loc"][0] == "body" and error["msg"] for error in answer["detail"])


def test_a_field_the_contract_does_not_name_says_what_it_is(client) -> None:
    """The target is predicted, not sent; any other unknown field is not a feature."""
    order = CONTRACT.example | {CONTRACT.target.name: 30.0, "tip": 2}
    errors = {e["loc"][-1]: e["msg"] for e in client.post("/predict", json=order).json()["detail"]}
    target = CONTRACT.target.name
    assert errors == {
        target: f"{target} is the target, which the service predicts: leave it out",
        "tip": "not a feature of the contract (a typo? every feature: GET /openapi.json)",
    }


def test_every_error_is_counted_but_only_the_first_are_listed(client) -> None:
    answer = client.post("/predict", content=MALFORMED["many empty orders"]).json()
    assert answer["error_count"] == MAX_ORDERS * len(CONTRACT.features)
    assert len(answer["detail"]) == MAX_ERRORS


def test_a_body_too_large_gets_413(client) -> None:
    response = client.post("/predict", content=b"[" + b" " * MAX_BODY_BYTES + b"]")
    assert response.status_code == 413
    assert "orders" in strict_json(response.text)["detail"]


def test_other_methods_get_405_with_allow(client) -> None:
    response = client.get("/predict")
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    assert strict_json(response.text)["detail"]


def test_a_valid_request_is_still_answered(client) -> None:
    response = client.post("/predict", json=[CONTRACT.example, CONTRACT.example])
    assert response.status_code == 200
    assert len(response.json()[CONTRACT.target.name]) == 2


def test_the_openapi_document_is_valid_and_every_reference_resolves(client, api_key) -> None:
    document = client.get("/openapi.json").json()
    validate(document)  # OpenAPI 3.1, and the references of its responses resolved
    assert unresolved_references(document) == set()
    # Both checks fail on a reference that points nowhere, as the list of orders' once did.
    moved = json.dumps(document).replace("#/components/schemas/", "#/$defs/")
    with pytest.raises(Unresolvable):
        validate(json.loads(moved))
    assert "#/$defs/Order" in unresolved_references(json.loads(moved))
    predict = document["paths"]["/predict"]["post"]["responses"]
    assert {"200", "408", "413", "422", "500", "503"} <= set(predict)
    assert "Retry-After" in predict["503"]["headers"]
    assert "text/plain" in document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    protected = {
        path for path, item in document["paths"].items() for op in item.values() if "security" in op
    }
    assert protected == ({"/predict", "/version", "/metrics"} if api_key else set())


@pytest.fixture(scope="module")
def api_schema(model_dir, api_key):
    # An app of its own: schemathesis runs its lifespan, until the tests end.
    return schemathesis.openapi.from_asgi("/openapi.json", app_of(model_dir, api_key))


@pytest.mark.parametrize("mode", list(GenerationMode))
def test_the_service_keeps_the_promises_of_its_openapi_document(api_schema, auth, mode) -> None:
    """Requests drawn from the document, valid ones and not: no 5xx, every answer as documented."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {operation.label for operation in operations} >= {"POST /predict", "GET /version"}
    if mode is GenerationMode.NEGATIVE:  # only a request with a body can be invalid
        operations = [operation for operation in operations if len(operation.body)]
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
        def answered_as_documented(case) -> None:
            case.call_and_validate(headers=auth)

        answered_as_documented()


def test_an_unknown_value_of_a_wide_category_gets_a_short_message() -> None:
    """A restaurant id of 3,000 values: the 422 names a few and where to find the rest."""
    city = next(f for f in CONTRACT.features if f.name == "city")
    wide = replace(city, categories=tuple(f"r{i}" for i in range(3000)))
    features = tuple(wide if f is city else f for f in CONTRACT.features)
    contract = replace(CONTRACT, features=features, example=CONTRACT.example | {"city": "r1"})
    with pytest.raises(ValidationError) as error:
        contract.request_model(**contract.example | {"city": "atlantis"})
    (entry,) = json.loads(_field_errors(error.value, contract.target.name))["detail"]
    assert entry["loc"] == ["body", "city"] and entry["input"] == "atlantis"
    assert entry["msg"].startswith("Input should be 'r0', 'r1', ")
    assert entry["msg"].endswith(", … (every value: the request schema, GET /openapi.json)")
    assert len(entry["msg"]) < MAX_MESSAGE + 80
