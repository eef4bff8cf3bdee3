"""The contract: one definition behind validation, the request model and the model's table."""

import pandas as pd
import pytest
from pydantic import ValidationError

from {{ cookiecutter.package_name }}.core.contract import ContractViolation

from .conftest import CONTRACT

NUMERIC = [feature for feature in CONTRACT.features if not feature.is_categorical]
CATEGORICAL = [feature for feature in CONTRACT.features if feature.is_categorical]


def test_samples_honour_the_contract(orders: pd.DataFrame) -> None:
    assert len(CONTRACT.validate(orders, source="samples")) == len(orders)


def test_a_violation_names_each_column_check_and_rows(orders: pd.DataFrame) -> None:
    broken = orders.copy()
    numeric, categorical = NUMERIC[0], CATEGORICAL[0]
    broken.loc[[3, 5], numeric.name] = numeric.minimum - 1
    broken.loc[8, categorical.name] = "atlantis"
    with pytest.raises(ContractViolation) as violation:
        CONTRACT.validate(broken, source="orders.csv")
    report = str(violation.value)
    assert "orders.csv" in report
    assert f"'{numeric.name}'" in report and "rows [3, 5]" in report
    assert f"'{categorical.name}'" in report and "atlantis" in report


def test_a_missing_or_unknown_column_is_reported(orders: pd.DataFrame) -> None:
    missing = CONTRACT.feature_names[-1]
    broken = orders.drop(columns=missing).assign(colour="red")
    with pytest.raises(ContractViolation, match=missing) as violation:
        CONTRACT.validate(broken, source="orders.csv")
    assert "colour" in str(violation.value)


def test_request_model_follows_the_contract() -> None:
    assert list(CONTRACT.request_model.model_fields) == CONTRACT.feature_names
    assert CONTRACT.request_model(**CONTRACT.example).model_dump() == CONTRACT.example
    assert CONTRACT.validate(
        pd.DataFrame(
            [CONTRACT.example | {CONTRACT.key: 1, CONTRACT.target.name: CONTRACT.target.minimum}]
        ),
        "example",
    ).shape == (1, len(CONTRACT.features) + 2)


@pytest.mark.parametrize("feature", NUMERIC, ids=lambda feature: feature.name)
def test_request_model_rejects_out_of_range(feature) -> None:
    with pytest.raises(ValidationError, match=feature.name):
        CONTRACT.request_model(**CONTRACT.example | {feature.name: feature.maximum + 1})


def test_request_model_rejects_unknown_category_and_extra_field() -> None:
    name = CATEGORICAL[0].name
    with pytest.raises(ValidationError, match=name):
        CONTRACT.request_model(**CONTRACT.example | {name: "atlantis"})
    with pytest.raises(ValidationError, match="tip"):
        CONTRACT.request_model(**CONTRACT.example | {"tip": 2})


def test_frame_gives_the_training_columns_and_values(orders: pd.DataFrame) -> None:
    training = orders[CONTRACT.feature_names].head(30)
    rows = [CONTRACT.request_model(**row).model_dump() for row in training.to_dict("records")]
    frame = CONTRACT.frame(rows)
    assert list(frame.columns) == CONTRACT.feature_names
    numeric = [feature.name for feature in NUMERIC]
    assert (frame.dtypes[numeric] == training.dtypes[numeric]).all()
    assert frame.astype(str).equals(training.reset_index(drop=True).astype(str))
