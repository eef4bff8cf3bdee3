"""A table checked against a contract's columns: pandera's schema, the spellings a file
uses made comparable before it and the values typed after it, and a report of what fails
in the words of the fix. Contract.validate and Contract.validate_outcomes are the way in.
"""

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import timestamps
from .feature import MAX_TEXT, Feature
from .problems import Problem


class ContractViolation(Problem):
    """A table broke the feature contract; str() is a report meant for people."""


def checked(
    table: pd.DataFrame, source: str, key: str, features: Sequence[Feature], target: Feature
) -> pd.DataFrame:
    """`table`'s key, `features` and `target`, typed as the model takes them (its other
    columns dropped), or ContractViolation naming every problem; `source` names the table."""
    from pandera.errors import SchemaErrors

    columns = (*features, target)
    try:
        validated = table_schema(key, columns).validate(prepared(table, features), lazy=True)
    except SchemaErrors as errors:
        named = {key, *(column.name for column in columns)}
        unused = [str(column) for column in table.columns if column not in named]
        keys = table[key] if key in table.columns else None
        hints = target_hint(target, table)
        raise ContractViolation(
            report(errors.failure_cases, source, unused, hints, keys=keys)
        ) from None
    return typed(validated, columns)


def table_schema(key: str, columns: Sequence[Feature]) -> Any:
    """pandera's schema of a table: its unique key and `columns`."""
    import pandera.pandas as pa  # the pipeline's: the serving image has no pandera

    schema = {key: pa.Column(int, unique=True, nullable=False)}
    schema |= {column.name: _column(column) for column in columns}
    # Columns the contract does not name are dropped: a raw table keeps its timestamps,
    # notes and ids without a step to remove them.
    return pa.DataFrameSchema(schema, strict="filter", ordered=False)


def prepared(table: pd.DataFrame, features: Sequence[Feature]) -> pd.DataFrame:
    """`table` with a file's spellings made what the schema checks: text that spells true
    or false a bool (anything else fails the bool's check), a numbered id its text."""
    present = [feature for feature in features if feature.name in table.columns]
    flags = [f.name for f in present if f.dtype is bool]
    if flags:
        table = table.assign(**{name: table[name].map(as_boolean) for name in flags})
    ids = [f.name for f in present if f.high_cardinality]
    if numbered := [name for name in ids if pd.api.types.is_numeric_dtype(table[name])]:
        table = table.assign(**{n: table[n].map(as_id, na_action="ignore") for n in numbered})
    return table


def target_hint(target: Feature, table: pd.DataFrame) -> list[str]:
    """A binary target given as 0/1 or false/true: which class each stands for."""
    classes, name = target.categories, target.name
    if len(classes) != 2 or name not in table.columns:
        return []
    spelt = {str(value).lower() for value in table[name].dropna().unique()}
    if not spelt or not spelt <= {"0", "1", "0.0", "1.0", "false", "true"}:
        return []
    negative, positive = classes
    return [
        f"{name} holds 0/1 (or false/true), not its classes: write 0 as {negative!r} and 1 "
        f"as {positive!r} at the source, e.g. {name}.map({{0: {negative!r}, 1: {positive!r}}})"
    ]


def is_bool(value: Any) -> bool:
    return isinstance(value, bool | np.bool_)


def as_boolean(value: Any) -> Any:
    """A bool, or the text "true" or "false" in any case, as a bool; anything else as given
    (1 and 0 are numbers, not booleans, as in the request model)."""
    if is_bool(value):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value


def as_id(value: Any) -> str:
    """A high-cardinality value as the text a request gives: a whole number without its
    ".0" (a column of ids with gaps reads as floats: 123.0 is the id "123")."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _column(feature: Feature) -> Any:
    import pandera.pandas as pa

    nullable, description = feature.nullable, feature.description
    if feature.is_timestamp:  # text or datetimes, parsed once it passes (typed)
        error = f"a timestamp ({timestamps.VALID})"
        is_time = pa.Check(lambda values: timestamps.parsed(values).notna(), error=error)
        return pa.Column(None, checks=[is_time], nullable=nullable, description=description)
    if feature.dtype is bool:  # coerced, a column of text or numbers would all be True
        a_bool = pa.Check(lambda values: values.map(is_bool).astype(bool), error="true or false")
        return pa.Column(None, checks=[a_bool], nullable=nullable, description=description)
    if feature.high_cardinality:
        checks = [pa.Check.str_length(max_value=MAX_TEXT)]
    elif feature.is_categorical:
        checks = [pa.Check.isin(feature.categories)]
    else:
        checks = [pa.Check.in_range(feature.minimum, feature.maximum)]
    dtype = str if feature.dtype is str else feature.column_dtype
    if feature.dtype is int:  # read as floats, so that 2.5 fails here, not becomes 2 (typed)
        dtype = float
        checks.append(pa.Check(lambda values: values % 1 == 0, error="a whole number"))
    return pa.Column(dtype, checks=checks, nullable=nullable, coerce=True, description=description)


def typed(validated: pd.DataFrame, features: Sequence[Feature]) -> pd.DataFrame:
    """A validated table as the model takes it: a bool column of bools, a timestamp's of
    datetimes, an int's of integers, and a missing category as None, whatever the file
    spelt it (the encoder knows one missing value)."""
    typed = {}
    for feature in features:
        if feature.is_timestamp:
            typed[feature.name] = timestamps.parsed(validated[feature.name])
        elif feature.is_categorical and feature.nullable:
            values = validated[feature.name].to_numpy(dtype=object, copy=True)
            values[pd.isna(values)] = None
            typed[feature.name] = pd.Series(values, index=validated.index)
        elif feature.dtype is bool:
            typed[feature.name] = validated[feature.name].astype(bool)
        elif feature.dtype is int and not feature.nullable:  # whole numbers, checked
            typed[feature.name] = validated[feature.name].astype(np.int64)
    return validated.assign(**typed) if typed else validated


# What pandera's table-wide checks mean, in the words of the fix.
TABLE_CHECKS = {"column_in_dataframe": "columns the contract needs and the table lacks"}


def report(
    failures: pd.DataFrame,
    source: str,
    unused: list[str],
    hints: list[str],
    examples: int = 5,
    keys: pd.Series | None = None,
) -> str:
    """The report of a table's `failures`, naming each failing row by its position and, with
    `keys` (the table's key column), its key: what finds it in the team's own file."""
    lines = [f"{source} breaks the data contract (the features in the project's usecase.py):"]
    for (column, check), group in failures.groupby(["column", "check"], sort=False, dropna=False):
        if pd.isna(column):  # columns: every one of them, so that one fix covers all
            lines.append(f"  - {TABLE_CHECKS.get(check, check)}: {group['failure_case'].tolist()}")
            if check == "column_in_dataframe" and unused:  # a renamed column, perhaps
                lines.append(f"    (columns it has that the contract does not name: {unused})")
            continue
        group = group.sort_values("index", kind="stable")  # the file's first failing rows
        values = group["failure_case"].head(examples).tolist()
        rows = group["index"].dropna().astype(int).drop_duplicates().tolist()
        where = f"{len(rows)} rows, e.g. rows {rows[:examples]} (from 0" if rows else "all rows"
        if rows:
            named = keys.reindex(rows[:examples]).tolist() if keys is not None else []
            where += f"; {keys.name} {named})" if named and column != keys.name else ")"
        lines.append(f"  - column {column!r} fails {check}: {where}; values {values}")
    lines += [f"  ({hint})" for hint in hints]
    lines.append(
        "Fix the data at its source, or change the features if the contract itself changed."
    )
    return "\n".join(lines)
