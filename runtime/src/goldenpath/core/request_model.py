"""The pydantic models of a request, built from the contract's features: what the
serving API accepts and its OpenAPI document describes."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model

from . import timestamps
from .feature import BOOLEAN, MAX_TEXT, Feature


def order_model(features: Sequence[Feature], example: Mapping[str, Any]) -> type[BaseModel]:
    """The model of one request row, `example` its example.

    Strict, because a lax conversion is silent train/serve skew: a number must be a
    JSON number (not `true`, not `"2"`), an integer a whole number (`2` or `2.0`, as
    JSON Schema has it; not `2.5`), NaN and Infinity are refused, and so is any
    field the contract does not name.
    """
    fields = {feature.name: _field(feature) for feature in features}
    config = ConfigDict(
        extra="forbid",
        strict=True,
        allow_inf_nan=False,
        json_schema_extra={"examples": [dict(example)]},
    )
    model = create_model("Order", __config__=config, **fields)
    model.__doc__ = "One row to predict, as the serving API accepts it."
    return model


def keyed_model(order: type[BaseModel], key: str) -> type[BaseModel]:
    """`order` and, optionally, the row's `key`.

    The key is not a feature: the prediction log records it, so that outcomes
    reported later under the same key can be joined to the prediction.
    """
    description = f"Optional: your {key}, to report this order's outcome under later"
    # A whole number (2.0 is 2, as for the features) that fits a Postgres bigint.
    whole = Annotated[int, Field(ge=0, le=2**63 - 1), BeforeValidator(whole_number)]
    return create_model(
        order.__name__,
        __base__=order,
        **{key: (whole | None, Field(None, description=description))},
    )


def _field(feature: Feature) -> tuple[Any, Any]:
    """The request model's field: required, or, for a nullable feature, null or left out."""
    if feature.dtype is bool:  # strict: JSON's true or false, not 1 or "true"
        kind: Any = Annotated[bool, Field(json_schema_extra={"enum": BOOLEAN})]
    elif feature.is_timestamp:  # ISO 8601 text (JSON has no time), not a number
        kind = Annotated[datetime, BeforeValidator(timestamps.request_value)]
    elif feature.high_cardinality:  # any text: a value training never saw is "any other"
        kind = Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]
    elif feature.is_categorical:
        kind = Literal[feature.categories]
    else:
        bounds = Field(ge=feature.minimum, le=feature.maximum)
        whole = (BeforeValidator(whole_number),) if feature.dtype is int else ()
        kind = Annotated[feature.dtype, bounds, *whole]  # bounds first: the schema's
    description = feature.description
    if feature.unseen == "refuse":  # the OpenAPI document says so
        description += " (a value the model never saw in training is refused)"
    if feature.nullable:
        return kind | None, Field(None, description=description)
    return kind, Field(description=description)


def whole_number(value: Any) -> Any:
    """2.0 is the integer 2 (JSON does not tell them apart); anything else is left to refuse."""
    return int(value) if isinstance(value, float) and value.is_integer() else value
