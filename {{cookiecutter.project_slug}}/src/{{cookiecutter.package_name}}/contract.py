"""The feature contract: the one definition of what an order looks like.

Validation (pandera), training (column order and encodings) and serving (the
request model) are all derived from FEATURES, so they cannot drift apart.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pydantic import ConfigDict, Field, create_model


@dataclass(frozen=True)
class Feature:
    name: str
    description: str
    dtype: type  # int, float or str
    minimum: float | None = None
    maximum: float | None = None
    categories: tuple[str, ...] = ()

    @property
    def is_categorical(self) -> bool:
        return bool(self.categories)


FEATURES: tuple[Feature, ...] = (
    Feature("distance_km", "Restaurant to customer, road distance", float, 0.1, 30.0),
    Feature("prep_time_min", "Restaurant's announced preparation time", float, 1.0, 90.0),
    Feature("items", "Number of items in the order", int, 1, 50),
    Feature("hour", "Local hour the order was placed", int, 0, 23),
    Feature("weekday", "Day of the week, Monday = 0", int, 0, 6),
    Feature("courier_load", "Active orders per available courier nearby", float, 0.0, 10.0),
    Feature(
        "city",
        "City of the restaurant",
        str,
        categories=("lisbon", "porto", "madrid", "barcelona", "milan"),
    ),
    Feature(
        "weather",
        "Weather when the order was placed",
        str,
        categories=("clear", "rain", "storm", "fog"),
    ),
)
TARGET = Feature("delivery_minutes", "Minutes from order to delivery", float, 1.0, 240.0)
ORDER_ID = "order_id"
EXAMPLE_ORDER = {
    "distance_km": 3.2,
    "prep_time_min": 12.0,
    "items": 2,
    "hour": 20,
    "weekday": 4,
    "courier_load": 1.4,
    "city": "lisbon",
    "weather": "rain",
}

FEATURE_NAMES = [feature.name for feature in FEATURES]
CATEGORICAL = [feature.name for feature in FEATURES if feature.is_categorical]
NUMERIC = [feature.name for feature in FEATURES if not feature.is_categorical]


def _column(feature: Feature) -> pa.Column:
    if feature.is_categorical:
        checks = [pa.Check.isin(feature.categories)]
    else:
        checks = [pa.Check.in_range(feature.minimum, feature.maximum)]
    return pa.Column(
        feature.dtype, checks=checks, nullable=False, coerce=True, description=feature.description
    )


def orders_schema() -> pa.DataFrameSchema:
    """Schema of a labelled order table: id, every feature and the target."""
    columns = {ORDER_ID: pa.Column(int, unique=True, nullable=False)}
    columns |= {feature.name: _column(feature) for feature in (*FEATURES, TARGET)}
    return pa.DataFrameSchema(columns, strict=True, ordered=False, name="orders")


def _field(feature: Feature) -> tuple[Any, Any]:
    if feature.is_categorical:
        return Literal[feature.categories], Field(description=feature.description)
    bounds = Field(ge=feature.minimum, le=feature.maximum, description=feature.description)
    return feature.dtype, bounds


Order = create_model(
    "Order",
    __config__=ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_ORDER]}),
    **{feature.name: _field(feature) for feature in FEATURES},
)
Order.__doc__ = "One order to predict, as the serving API accepts it."


def as_frame(orders: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Validated orders as the table the model takes: its columns, in its order.

    Built column by column from plain values (serving calls it once per batch);
    categories stay Python strings, which the encoder reads as it reads `str` columns.
    """
    return pd.DataFrame(
        {
            feature.name: np.array(
                [order[feature.name] for order in orders],
                dtype=object if feature.is_categorical else feature.dtype,
            )
            for feature in FEATURES
        }
    )


class ContractViolation(ValueError):
    """A table broke the feature contract; str() is a report meant for people."""


def validate_orders(orders: pd.DataFrame, source: str) -> pd.DataFrame:
    """`orders` coerced to the contract's dtypes, or ContractViolation naming every problem."""
    try:
        return orders_schema().validate(orders, lazy=True)
    except pa.errors.SchemaErrors as errors:
        raise ContractViolation(_report(errors.failure_cases, source)) from None


def _report(failures: pd.DataFrame, source: str, examples: int = 5) -> str:
    lines = [f"{source} breaks the data contract (src/.../contract.py):"]
    failures = failures.assign(column=failures["column"].fillna("<table>"))
    for (column, check), group in failures.groupby(["column", "check"], sort=False):
        rows = group["index"].dropna().astype(int).tolist()
        values = group["failure_case"].head(examples).tolist()
        where = f"{len(rows)} rows, e.g. rows {rows[:examples]}" if rows else "whole column"
        lines.append(f"  - column {column!r} fails {check}: {where}; values {values}")
    lines.append("Fix the data at its source, or change FEATURES if the contract itself changed.")
    return "\n".join(lines)
