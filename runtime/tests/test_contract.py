"""The contract: one definition behind validation, the request model and the model's table."""

import json
from dataclasses import replace

import pandas as pd
import pytest
from pydantic import ValidationError

from goldenpath import Contract, Feature, UseCase
from goldenpath.core.contract import ContractViolation, InvalidContract

from .usecase import CONTRACT, LATE_USE_CASE, USE_CASE

NUMERIC = [feature for feature in CONTRACT.features if not feature.is_categorical]
CATEGORICAL = [feature for feature in CONTRACT.features if feature.is_categorical]
INTEGER = next(feature for feature in CONTRACT.features if feature.dtype is int)


def test_samples_honour_the_contract(orders: pd.DataFrame) -> None:
    assert len(CONTRACT.validate(orders, source="samples")) == len(orders)
    for feature in CONTRACT.features:  # spread over every range and category
        if feature.is_categorical:
            assert set(orders[feature.name]) == set(feature.categories)
        else:
            assert orders[feature.name].between(feature.minimum, feature.maximum).all()


def test_a_violation_names_each_column_check_and_rows(orders: pd.DataFrame) -> None:
    broken = orders.copy()
    numeric, categorical = NUMERIC[0], CATEGORICAL[0]
    broken.loc[[3, 5], numeric.name] = numeric.minimum - 1
    broken.loc[8, categorical.name] = "atlantis"
    with pytest.raises(ContractViolation) as violation:
        CONTRACT.validate(broken, source="orders.csv")
    report = str(violation.value)
    assert "orders.csv" in report
    keys = orders[CONTRACT.key].loc[[3, 5]].tolist()  # what finds them in the team's file
    assert f"'{numeric.name}'" in report
    assert f"rows [3, 5] (from 0; {CONTRACT.key} {keys})" in report
    assert f"'{categorical.name}'" in report and "atlantis" in report


def test_a_missing_or_unknown_column_is_reported(orders: pd.DataFrame) -> None:
    missing = CONTRACT.feature_names[-1]
    broken = orders.drop(columns=missing).assign(colour="red")
    with pytest.raises(ContractViolation, match=missing) as violation:
        CONTRACT.validate(broken, source="orders.csv")
    report = str(violation.value)
    assert "the contract needs and the table lacks" in report
    assert "(columns it has that the contract does not name: ['colour'])" in report


def test_columns_the_contract_does_not_name_are_dropped(orders: pd.DataFrame) -> None:
    raw = orders.assign(placed_at="2026-12-04T12:00:00", note="ring twice")
    validated = CONTRACT.validate(raw, source="orders.csv")
    assert list(validated.columns) == list(orders.columns)


def test_a_repeated_key_is_a_violation(orders: pd.DataFrame) -> None:
    repeated = orders.assign(**{CONTRACT.key: 1})
    with pytest.raises(ContractViolation, match=CONTRACT.key):
        CONTRACT.validate(repeated, source="orders.csv")


def test_request_model_follows_the_contract() -> None:
    assert list(CONTRACT.request_model.model_fields) == CONTRACT.feature_names
    assert CONTRACT.request_model(**CONTRACT.example).model_dump() == CONTRACT.example
    labelled = CONTRACT.example | {CONTRACT.key: 1, CONTRACT.target.name: CONTRACT.target.minimum}
    checked = CONTRACT.validate(pd.DataFrame([labelled]), "example")
    assert checked.shape == (1, len(CONTRACT.features) + 2)


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


def test_an_integer_is_a_whole_number_and_a_number_is_no_string() -> None:
    whole = CONTRACT.request_model.model_validate_json(
        CONTRACT.request_model(**CONTRACT.example)
        .model_dump_json()
        .replace(
            f'"{INTEGER.name}":{CONTRACT.example[INTEGER.name]}',
            f'"{INTEGER.name}":{CONTRACT.example[INTEGER.name]}.0',
        )
    )
    assert whole.model_dump()[INTEGER.name] == CONTRACT.example[INTEGER.name]
    for wrong in (2.5, "2", True):
        with pytest.raises(ValidationError, match=INTEGER.name):
            CONTRACT.request_model(**CONTRACT.example | {INTEGER.name: wrong})
    with pytest.raises(ValidationError, match=NUMERIC[0].name):
        CONTRACT.request_model(**CONTRACT.example | {NUMERIC[0].name: "3.2"})


def test_a_table_gives_an_integer_as_a_whole_number_as_the_service_and_scoring_do() -> None:
    """2.5 in an int column fails validation (a trial's finding: it was trained on as 2,
    while the service and batch scoring refuse it); 2.0 is the integer 2."""
    table = USE_CASE.example_data(4, 0)
    halves = table.assign(**{INTEGER.name: [1, 2.5, 3, 4]})
    with pytest.raises(ContractViolation, match=rf"'{INTEGER.name}' fails a whole number: 1 rows"):
        CONTRACT.validate(halves, "orders.csv")
    wholes = CONTRACT.validate(table.assign(**{INTEGER.name: [1.0, 2.0, 3.0, 4.0]}), "orders.csv")
    assert wholes[INTEGER.name].tolist() == [1, 2, 3, 4]
    assert wholes[INTEGER.name].dtype == "int64"


def test_the_service_also_takes_the_key_but_only_a_whole_one() -> None:
    keyed = CONTRACT.keyed_request_model
    assert keyed(**CONTRACT.example, **{CONTRACT.key: 7.0}).model_dump()[CONTRACT.key] == 7
    assert keyed(**CONTRACT.example).model_dump()[CONTRACT.key] is None  # optional
    for wrong in (-1, 2**63, 7.5):
        with pytest.raises(ValidationError, match=CONTRACT.key):
            keyed(**CONTRACT.example, **{CONTRACT.key: wrong})


def test_frame_gives_the_training_columns_and_values(orders: pd.DataFrame) -> None:
    training = orders[CONTRACT.feature_names].head(30)
    rows = [CONTRACT.request_model(**row).model_dump() for row in training.to_dict("records")]
    frame = CONTRACT.frame(rows)
    assert list(frame.columns) == CONTRACT.feature_names
    numeric = [feature.name for feature in NUMERIC]
    assert (frame.dtypes[numeric] == training.dtypes[numeric]).all()
    assert frame.astype(str).equals(training.reset_index(drop=True).astype(str))


def test_outcomes_are_checked_as_training_rows_are() -> None:
    target = CONTRACT.target
    good = pd.DataFrame({CONTRACT.key: [1, 2], target.name: [target.minimum, target.maximum]})
    assert len(CONTRACT.validate_outcomes(good, "late.csv")) == 2
    bad = good.assign(**{target.name: [target.minimum, target.maximum + 1]})
    with pytest.raises(ContractViolation, match=target.name):
        CONTRACT.validate_outcomes(bad, "late.csv")


def test_an_example_that_misses_or_breaks_a_feature_is_refused_with_the_fix() -> None:
    first = CONTRACT.feature_names[0]
    partial = {name: value for name, value in CONTRACT.example.items() if name != first}
    with pytest.raises(InvalidContract, match=rf"add \['{first}'\]"):
        Contract(CONTRACT.features, CONTRACT.target, CONTRACT.key, partial)
    extra = CONTRACT.example | {"tip": 1}
    with pytest.raises(InvalidContract, match=r"remove \['tip'\]"):
        Contract(CONTRACT.features, CONTRACT.target, CONTRACT.key, extra)
    out_of_range = CONTRACT.example | {NUMERIC[0].name: NUMERIC[0].maximum + 1}
    with pytest.raises(InvalidContract, match="breaks the contract"):
        Contract(CONTRACT.features, CONTRACT.target, CONTRACT.key, out_of_range)


def test_the_segment_must_be_a_categorical_feature() -> None:
    with pytest.raises(InvalidContract, match=r"name one of \['city', 'weather'\]"):
        UseCase(USE_CASE.name, USE_CASE.experiment, CONTRACT, segment=NUMERIC[0].name)
    assert UseCase("m", "e", CONTRACT, "weather").title == "m"  # the title defaults to the name


def test_a_bool_is_no_segment() -> None:
    """Segments are named by their text (a city's figures, a city's model)."""
    contract = LATE_USE_CASE.contract
    with pytest.raises(InvalidContract, match=r"'priority' is not a str feature"):
        UseCase("m", "e", contract, segment="priority")


def test_a_feature_knows_whether_it_is_categorical() -> None:
    assert Feature("city", "", str, categories=("a",)).is_categorical
    assert not Feature("distance", "", float, 0, 1).is_categorical
    assert CONTRACT.categorical == [feature.name for feature in CATEGORICAL]
    assert CONTRACT.numeric == [feature.name for feature in NUMERIC]


@pytest.mark.parametrize(
    ("feature", "problem"),
    [
        (("rush", "", bool, 0, 1), "is a bool: give it no bounds and no categories"),
        (("rush", "", bool, None, None, ("no", "yes")), "is a bool: give it no bounds"),
        (("at", "", object), "has dtype <class 'object'>: give int, float, str, bool or datetime"),
        (("restaurant", "", str), "is a str without categories: list its values"),
        (("city", "", str, None, None, ("a", "a")), "lists a category twice"),
        (("rank", "", int, 0, 9, ("a",)), "is a number with categories"),
        (("tip", "", float), r"needs a minimum below its maximum \(given None, None\)"),
        (("tip", "", float, 5, 5), r"needs a minimum below its maximum \(given 5, 5\)"),
    ],
)
def test_a_feature_the_runtime_cannot_take_is_refused_when_it_is_declared(feature, problem):
    with pytest.raises(InvalidContract, match=rf"^feature '{feature[0]}' \(usecase.py\) {problem}"):
        Feature(*feature)


def test_a_bool_is_true_or_false_in_a_table_and_in_a_request() -> None:
    """JSON's booleans, or a table's text true/false; 1, 0 and "yes" are refused, never read
    as booleans (a coercion would make every one of them True)."""
    flagged = Contract(
        (*CONTRACT.features, Feature("priority", "", bool)),
        CONTRACT.target,
        CONTRACT.key,
        CONTRACT.example | {"priority": True},
    )
    assert Feature("priority", "", bool).categories == (False, True)
    assert replace(Feature("priority", "", bool), description="Paid").categories == (False, True)
    table = flagged.samples(6).assign(priority=["true", "FALSE", True, False, "True", "false"])
    assert flagged.validate(table, "t.csv")["priority"].tolist() == [True, False] * 3
    assert flagged.validate(table, "t.csv")["priority"].dtype == bool
    broken = table.astype({"priority": object})
    broken.loc[[1, 4], "priority"] = [1, "yes"]
    with pytest.raises(ContractViolation, match=r"'priority' fails true or false: 2 rows, e"):
        flagged.validate(broken, "t.csv")
    request = flagged.request_model
    valid = request.model_validate_json(json.dumps(CONTRACT.example | {"priority": False}))
    assert valid.priority is False
    for wrong in (1, 0, "true"):
        with pytest.raises(ValidationError):
            request.model_validate(dict(CONTRACT.example) | {"priority": wrong})
    field = request.model_json_schema()["properties"]["priority"]
    assert (field["type"], field["enum"]) == ("boolean", [False, True])


def test_names_are_unique() -> None:
    twice = (*CONTRACT.features, Feature(CONTRACT.key, "", int, 0, 9))
    example = CONTRACT.example | {CONTRACT.key: 1}
    with pytest.raises(InvalidContract, match=rf"names \['{CONTRACT.key}'\] twice"):
        Contract(twice, CONTRACT.target, CONTRACT.key, example)


LATE = Feature("late", "", str, categories=("no", "yes"))
LATENESS = Feature("lateness", "", str, categories=("early", "on_time", "late"))


@pytest.mark.parametrize(
    ("target", "task", "problem"),
    [
        (LATE, "regression", r"'late' .* is a category and the task a regression: give task="),
        (CONTRACT.target, "binary", r"is a number and the task a binary classification: make"),
        (LATENESS, "binary", r"has 3 categories and the task is binary: give two"),
        (LATE, "multiclass", r"has 2 categories and the task is multiclass: give three"),
        (LATE, "ranking", r"task 'ranking' \(usecase.py\): give one of \('regression'"),
    ],
)
def test_the_target_fits_the_task(target: Feature, task: str, problem: str) -> None:
    with pytest.raises(InvalidContract, match=problem):
        Contract(CONTRACT.features, target, CONTRACT.key, CONTRACT.example, task)


@pytest.mark.parametrize(("target", "task"), [(LATE, "binary"), (LATENESS, "multiclass")])
def test_samples_of_a_classification_hold_every_class(target: Feature, task: str) -> None:
    contract = Contract(CONTRACT.features, target, CONTRACT.key, CONTRACT.example, task)
    counts = contract.samples(600)[target.name].value_counts()
    assert sorted(counts.index) == sorted(target.categories) and counts.min() >= 150
    contract.validate(contract.samples(50), "samples")  # they honour the contract


def test_every_missing_and_unknown_column_is_named() -> None:
    """Not the first five only: one fix for all of them."""
    extra = {f"raw_column_{i}": 1 for i in range(7)}
    table = CONTRACT.samples(20).drop(columns=CONTRACT.feature_names).assign(**extra)
    with pytest.raises(ContractViolation) as violation:
        CONTRACT.validate(table, "orders.csv")
    for name in (*CONTRACT.feature_names, *extra):
        assert repr(name) in str(violation.value), name


@pytest.mark.parametrize("labels", [[0, 1], [False, True], ["0", "1"]], ids=str)
def test_a_binary_target_given_as_0_and_1_says_which_class_each_is(labels) -> None:
    contract = LATE_USE_CASE.contract
    table = LATE_USE_CASE.example_data(40, 0)
    table["late"] = [labels[i % 2] for i in range(len(table))]
    hint = (
        "  (late holds 0/1 (or false/true), not its classes: write 0 as 'no' and 1 as 'yes' "
        "at the source, e.g. late.map({0: 'no', 1: 'yes'}))"
    )
    with pytest.raises(ContractViolation) as violation:
        contract.validate(table, "t.csv")
    assert hint in str(violation.value).splitlines()
    with pytest.raises(ContractViolation) as violation:
        contract.validate_outcomes(table[[contract.key, "late"]], "outcomes.csv")
    assert hint in str(violation.value).splitlines()
    table["late"] = ["no", "maybe"] * 20  # text of its own: no hint
    with pytest.raises(ContractViolation) as violation:
        contract.validate(table, "t.csv")
    assert "holds 0/1" not in str(violation.value)


def test_a_passthrough_column_has_a_name_of_its_own() -> None:
    with pytest.raises(InvalidContract, match=r"names \['items'\] twice: .* passthrough"):
        replace(CONTRACT, passthrough=("items",))
    assert replace(CONTRACT, passthrough=["note"]).passthrough == ("note",)
