"""TestContract: the project's contract (usecase.py) holds together.

Its example is one valid request and, with a key and a target, one valid row; the
rows `Contract.samples` draws honour it (every test of the other suites uses them);
a table or a request that breaks it is refused, naming what is wrong.
"""

import re

import pandas as pd
import pytest
from pydantic import ValidationError

from ...core import timestamps
from ...core.contract import Contract, ContractViolation
from ...core.feature import MAX_TEXT

UNKNOWN = "not-a-category"
TOO_LONG = "x" * (MAX_TEXT + 1)  # for a high-cardinality feature, whose values are any text


def labelled(contract: Contract, row: dict) -> dict:
    """`row` with a key and a valid target: a class for a classification, else the minimum."""
    target = contract.target
    value = target.categories[0] if target.is_categorical else target.minimum
    return dict(row) | {contract.key: 1, target.name: value}


class TestContract:
    def test_the_example_is_a_valid_request_and_a_valid_row(self, contract: Contract) -> None:
        request = contract.request_model(**contract.example)
        given = {  # a timestamp's text as the datetime it spells
            name: timestamps.request_value(value) if name in contract.timestamps else value
            for name, value in contract.example.items()
        }
        assert request.model_dump() == given
        assert list(contract.request_model.model_fields) == contract.feature_names
        row = pd.DataFrame([labelled(contract, contract.example)])
        assert contract.validate(row, "the example").shape == (1, len(contract.features) + 2)
        keyed = contract.keyed_request_model(**contract.example, **{contract.key: 42})
        assert getattr(keyed, contract.key) == 42

    def test_samples_honour_the_contract(self, contract: Contract, orders: pd.DataFrame) -> None:
        assert len(contract.validate(orders, source="samples")) == len(orders)
        assert list(orders.columns) == [contract.key, *contract.feature_names, contract.target.name]
        for feature in contract.features:
            values = orders[feature.name]
            if feature.categories:  # every category, so that every encoding is fitted
                assert set(values.dropna()) == set(feature.categories), feature.name
            else:  # spread over the range (or many values), not one value
                assert values.nunique() > 1, feature.name
            # A nullable feature's missing values are learnt and served too; others have none.
            assert values.isna().any() == feature.nullable, feature.name

    def test_a_violation_names_each_column_check_and_rows(self, contract, orders) -> None:
        broken = orders.copy()
        expected = []
        for feature in contract.features:
            if feature.high_cardinality:
                broken.loc[8, feature.name] = TOO_LONG
                expected.append((feature.name, "str_length"))
            elif feature.is_categorical:
                broken.loc[8, feature.name] = UNKNOWN
                expected.append((feature.name, UNKNOWN))
            elif feature.is_timestamp:
                broken[feature.name] = broken[feature.name].astype(object)
                broken.loc[8, feature.name] = "yesterday"
                expected.append((feature.name, "'yesterday'"))
            elif feature.minimum is not None:
                broken.loc[[3, 5], feature.name] = feature.minimum - 1
                expected.append((feature.name, "rows [3, 5]"))
        with pytest.raises(ContractViolation) as violation:
            contract.validate(broken, source="orders.csv")
        report = str(violation.value)
        assert report.startswith("orders.csv breaks the data contract")
        for name, detail in expected:
            assert f"column {name!r}" in report and detail in report, (name, report)

    def test_a_missing_or_unknown_column_is_reported(self, contract, orders) -> None:
        missing = contract.feature_names[-1]
        broken = orders.drop(columns=missing).assign(not_a_feature="red")
        with pytest.raises(ContractViolation, match=re.escape(missing)) as violation:
            contract.validate(broken, source="orders.csv")
        assert "not_a_feature" in str(violation.value)

    def test_a_request_the_contract_refuses_names_the_field(self, contract: Contract) -> None:
        for feature in contract.features:
            if feature.high_cardinality:  # any text, but text
                wrong = [7, TOO_LONG]
            elif feature.is_categorical:
                wrong = [UNKNOWN]
            elif feature.is_timestamp:  # ISO 8601 text, not a day's name or a number
                wrong = ["yesterday", 1_772_000_000]
            else:
                bounds = (feature.minimum, feature.maximum)
                wrong = [b + d for b, d in zip(bounds, (-1, 1), strict=True) if b is not None]
            for value in wrong:
                with pytest.raises(ValidationError, match=re.escape(feature.name)):
                    contract.request_model(**contract.example | {feature.name: value})
        with pytest.raises(ValidationError, match="not_a_feature"):
            contract.request_model(**contract.example | {"not_a_feature": 2})
        for name in contract.required:
            with pytest.raises(ValidationError, match=re.escape(name)):
                contract.request_model(**{k: v for k, v in contract.example.items() if k != name})
            with pytest.raises(ValidationError, match=re.escape(name)):
                contract.request_model(**contract.example | {name: None})

    def test_a_nullable_feature_takes_null_or_nothing_as_missing(self, contract) -> None:
        for feature in contract.features:
            if feature.nullable:
                left_out = {k: v for k, v in contract.example.items() if k != feature.name}
                for request in (left_out, contract.example | {feature.name: None}):
                    assert getattr(contract.request_model(**request), feature.name) is None

    def test_frame_gives_the_training_columns_and_values(self, contract, orders) -> None:
        training = orders[contract.feature_names].head(30)
        rows = [contract.request_model(**row).model_dump() for row in contract.requests(training)]
        frame = contract.frame(rows)
        assert list(frame.columns) == contract.feature_names
        numeric = contract.numeric
        assert (frame.dtypes[numeric] == training.dtypes[numeric]).all()
        assert frame.astype(str).equals(training.reset_index(drop=True).astype(str))
