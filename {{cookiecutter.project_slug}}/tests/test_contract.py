import pandas as pd
import pytest
from pydantic import ValidationError

from {{ cookiecutter.package_name }}.contract import (
    CATEGORICAL,
    EXAMPLE_ORDER,
    FEATURE_NAMES,
    FEATURES,
    ContractViolation,
    Order,
    as_frame,
    validate_orders,
)


def test_generated_orders_honour_the_contract(orders: pd.DataFrame) -> None:
    validated = validate_orders(orders, source="generated")
    assert len(validated) == len(orders)


def test_a_violation_names_each_column_check_and_rows(orders: pd.DataFrame) -> None:
    broken = orders.copy()
    broken.loc[[3, 5], "distance_km"] = -1.0
    broken.loc[8, "city"] = "atlantis"
    with pytest.raises(ContractViolation) as violation:
        validate_orders(broken, source="orders.csv")
    report = str(violation.value)
    assert "orders.csv" in report
    assert "'distance_km'" in report and "rows [3, 5]" in report and "-1.0" in report
    assert "'city'" in report and "atlantis" in report


def test_a_missing_or_unknown_column_is_reported(orders: pd.DataFrame) -> None:
    broken = orders.drop(columns="weather").assign(colour="red")
    with pytest.raises(ContractViolation, match="weather") as violation:
        validate_orders(broken, source="orders.csv")
    assert "colour" in str(violation.value)


def test_request_model_follows_the_contract() -> None:
    assert list(Order.model_fields) == FEATURE_NAMES
    assert Order(**EXAMPLE_ORDER).model_dump() == EXAMPLE_ORDER


@pytest.mark.parametrize("feature", [f for f in FEATURES if not f.is_categorical], ids=str)
def test_request_model_rejects_out_of_range(feature) -> None:
    with pytest.raises(ValidationError, match=feature.name):
        Order(**EXAMPLE_ORDER | {feature.name: feature.maximum + 1})


def test_request_model_rejects_unknown_category_and_extra_field() -> None:
    with pytest.raises(ValidationError, match="city"):
        Order(**EXAMPLE_ORDER | {"city": "atlantis"})
    with pytest.raises(ValidationError, match="tip"):
        Order(**EXAMPLE_ORDER | {"tip": 2})


def test_as_frame_gives_the_training_columns_and_values(orders: pd.DataFrame) -> None:
    training = orders[FEATURE_NAMES].head(30)
    frame = as_frame([Order(**row).model_dump() for row in training.to_dict(orient="records")])
    assert list(frame.columns) == FEATURE_NAMES
    numeric = [name for name in FEATURE_NAMES if name not in CATEGORICAL]
    assert (frame.dtypes[numeric] == training.dtypes[numeric]).all()
    assert frame.astype(str).equals(training.reset_index(drop=True).astype(str))
