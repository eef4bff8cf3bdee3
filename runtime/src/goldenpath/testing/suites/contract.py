"""TestContract: the project's contract (usecase.py) holds together.

Its example is one valid request and, with a key and a target, one valid row; the
rows `Contract.samples` draws honour it (every test of the other suites uses them);
a table or a request that breaks it is refused, naming what is wrong.
"""

import re

import pandas as pd
import pytest
from pydantic import ValidationError

from ...core.contract import Contract, ContractViolation

UNKNOWN = "not-a-category"


def labelled(contract: Contract, row: dict) -> dict:
    """`row` with a key and a valid target: a class for a classification, else the minimum."""
    target = contract.target
    value = target.categories[0] if target.is_categorical else target.minimum
    return dict(row) | {contract.key: 1, target.name: value}


class TestContract:
    def test_the_example_is_a_valid_request_and_a_valid_row(self, contract: Contract) -> None:
        request = contract.request_model(**contract.example)
        assert request.model_dump() == dict(contract.example)
        assert list(contract.request_model.model_fields) == contract.feature_names
        row = pd.DataFrame([labelled(contract, contract.example)])
        assert contract.validate(row, "the example").shape == (1, len(contract.features) + 2)
        keyed = contract.keyed_request_model(**contract.example, **{contract.key: 42})
        assert getattr(keyed, contract.key) == 42

    def test_samples_honour_the_contract(self, contract: Contract, orders: pd.DataFrame) -> None:
        assert len(contract.validate(orders, source="samples")) == len(orders)
        assert list(orders.columns) == [contract.key, *contract.feature_names, contract.target.name]
        for feature in contract.features:
            if feature.is_categorical:  # every category, so that every encoding is fitted
                assert set(orders[feature.name]) == set(feature.categories), feature.name
            else:  # spread over the range, not one value
                assert orders[feature.name].nunique() > 1, feature.name

    def test_a_violation_names_each_column_check_and_rows(self, contract, orders) -> None:
        broken = orders.copy()
        expected = []
        for feature in contract.features:
            if feature.is_categorical:
                broken.loc[8, feature.name] = UNKNOWN
                expected.append((feature.name, UNKNOWN))
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
            if feature.is_categorical:
                wrong = [UNKNOWN]
            else:
                bounds = (feature.minimum, feature.maximum)
                wrong = [b + d for b, d in zip(bounds, (-1, 1), strict=True) if b is not None]
            for value in wrong:
                with pytest.raises(ValidationError, match=re.escape(feature.name)):
                    contract.request_model(**contract.example | {feature.name: value})
        with pytest.raises(ValidationError, match="not_a_feature"):
            contract.request_model(**contract.example | {"not_a_feature": 2})
        missing = contract.feature_names[0]
        with pytest.raises(ValidationError, match=re.escape(missing)):
            contract.request_model(**{k: v for k, v in contract.example.items() if k != missing})

    def test_frame_gives_the_training_columns_and_values(self, contract, orders) -> None:
        training = orders[contract.feature_names].head(30)
        rows = [contract.request_model(**row).model_dump() for row in training.to_dict("records")]
        frame = contract.frame(rows)
        assert list(frame.columns) == contract.feature_names
        numeric = contract.numeric
        assert (frame.dtypes[numeric] == training.dtypes[numeric]).all()
        assert frame.astype(str).equals(training.reset_index(drop=True).astype(str))
