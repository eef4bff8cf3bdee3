"""The feature contract: what one row to predict looks like, as a value.

Validation (the pandera schema), training (column order and encodings) and
serving (the request model) are all derived from a `Contract`, so they cannot
drift apart. The project's own contract is in `usecase.py`.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, create_model

from . import timestamps
from .derived import Derived, derive
from .feature import BOOLEAN, MAX_TEXT, Feature, InvalidContract
from .problems import Problem
from .tasks import TASKS, TaskName


class ContractViolation(Problem):
    """A table broke the feature contract; str() is a report meant for people."""


@dataclass(frozen=True)
class Contract:
    """Features, the target and the row key of a labelled table, one example request, and
    the task: a regression (a numeric target), or a binary or multiclass classification
    (a str target whose categories are the classes; a binary task's last is the positive)."""

    features: tuple[Feature, ...]
    target: Feature
    key: str
    example: Mapping[str, Any] = field(hash=False)  # one request: a value for every feature
    task: TaskName = "regression"
    # Features the model takes that rows do not carry: the project's code computes them
    # from the features above, inside the model (core/derived.py).
    derived: tuple[Derived, ...] = ()
    # Columns of a table to score that the model never takes, copied to each row's score
    # (`make score`): a name, a reference the scores are read with.
    passthrough: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "derived", tuple(self.derived))  # a list, hashable
        object.__setattr__(self, "passthrough", tuple(self.passthrough))
        if not all(isinstance(one, Derived) for one in self.derived):
            raise InvalidContract(
                "the contract's derived features (usecase.py): give each as"
                " Derived(Feature(...), function)"
            )
        names = [*self.feature_names, *self.derived_names, self.target.name, self.key]
        names += self.passthrough
        if twice := sorted({name for name in names if names.count(name) > 1}):
            raise InvalidContract(
                f"the contract (usecase.py) names {twice} twice: the features, the derived"
                " features, the target, the key and the passthrough columns each need a name"
                " of their own"
            )
        self._check_task()
        missing = [name for name in self.feature_names if name not in self.example]
        extra = [name for name in self.example if name not in self.feature_names]
        if missing or extra:
            raise InvalidContract(
                "the contract's example order (usecase.py) must give every feature a value: "
                f"add {missing}" + (f", remove {extra}" if extra else "")
            )
        try:
            self.request_model.model_validate(self.example)  # its values must pass too
        except ValidationError as error:
            raise InvalidContract(
                f"the contract's example order (usecase.py) breaks the contract: {error}"
            ) from None
        if self.derived:  # the feature code runs on it now, not first in a later stage
            self.with_derived(self.frame(self.served(pd.DataFrame([self.example]))), check=False)

    def _check_task(self) -> None:
        target, classes = f"the target {self.target.name!r} (usecase.py)", self.target.categories
        if self.target.is_timestamp:
            raise InvalidContract(
                f"{target} is a datetime: predict a number (minutes until it, a float)"
            )
        if self.target.high_cardinality:
            raise InvalidContract(
                f"{target} is high_cardinality: a classification's classes are listed, as"
                " categories=(...); drop high_cardinality=True"
            )
        if self.target.nullable:
            raise InvalidContract(
                f"{target} is nullable: a row without an outcome cannot be learnt from;"
                " drop nullable=True, and the unlabelled rows at the source"
            )
        if self.target.dtype is bool:
            raise InvalidContract(
                f'{target} is a bool: make it a str with categories=("no", "yes") and'
                ' task="binary" (the positive class last)'
            )
        if self.task not in TASKS:
            raise InvalidContract(
                f"the contract's task {self.task!r} (usecase.py): give one of {TASKS}"
            )
        if self.task == "regression" and classes:
            raise InvalidContract(
                f'{target} is a category and the task a regression: give task="binary"'
                ' (two categories) or task="multiclass", or make the target a number'
            )
        if self.task != "regression" and not classes:
            raise InvalidContract(
                f"{target} is a number and the task a {self.task} classification: make it a"
                ' str whose categories are the classes, e.g. categories=("on_time", "late")'
            )
        if self.task == "binary" and len(classes) != 2:
            raise InvalidContract(
                f"{target} has {len(classes)} categories and the task is binary: give two"
                ' (the positive class last), or task="multiclass"'
            )
        if self.task == "multiclass" and len(classes) < 3:
            raise InvalidContract(
                f"{target} has {len(classes)} categories and the task is multiclass: give"
                ' three or more, or task="binary" for two'
            )

    @cached_property
    def feature_names(self) -> list[str]:
        return [feature.name for feature in self.features]

    @cached_property
    def derived_names(self) -> list[str]:
        return [one.name for one in self.derived]

    @cached_property
    def inputs(self) -> tuple[Feature, ...]:
        """What the model takes: the features, then the derived ones."""
        return (*self.features, *(one.feature for one in self.derived))

    def with_derived(self, table: pd.DataFrame, check: bool = True) -> pd.DataFrame:
        """`table` (validated rows) with the derived features' columns, computed by the
        project's code; `check`: InvalidDerived unless each is as declared (derived.derive)."""
        return derive(table, self.derived, check) if self.derived else table

    @cached_property
    def required(self) -> list[str]:
        """The features every row and request must give a value: the ones not nullable."""
        return [feature.name for feature in self.features if not feature.nullable]

    @cached_property
    def categorical(self) -> list[str]:
        return [feature.name for feature in self.features if feature.is_categorical]

    @cached_property
    def listed(self) -> list[str]:
        """The categorical features whose categories the contract lists (a bool's included)."""
        return [feature.name for feature in self.features if feature.categories]

    @cached_property
    def high_cardinality(self) -> list[str]:
        return [feature.name for feature in self.features if feature.high_cardinality]

    @cached_property
    def timestamps(self) -> list[str]:
        return [feature.name for feature in self.features if feature.is_timestamp]

    @cached_property
    def numeric(self) -> list[str]:
        features = self.features
        return [f.name for f in features if not (f.is_categorical or f.is_timestamp)]

    def schema(self) -> Any:
        """pandera's schema of a labelled table: the key, every feature and the target."""
        import pandera.pandas as pa  # the pipeline's: the serving image has no pandera

        columns = {self.key: pa.Column(int, unique=True, nullable=False)}
        columns |= {feature.name: _column(feature) for feature in (*self.features, self.target)}
        # Columns the contract does not name are dropped: a raw table keeps its timestamps,
        # notes and ids without a step to remove them.
        return pa.DataFrameSchema(columns, strict="filter", ordered=False)

    def validate(self, table: pd.DataFrame, source: str) -> pd.DataFrame:
        """`table`'s key, features and target, coerced to the contract's dtypes (its other
        columns dropped), or ContractViolation naming every problem."""
        from pandera.errors import SchemaErrors

        flags = [f.name for f in self.features if f.dtype is bool and f.name in table.columns]
        if flags:  # text that spells true or false is a bool; anything else fails its check
            table = table.assign(**{name: table[name].map(as_boolean) for name in flags})
        ids = [name for name in self.high_cardinality if name in table.columns]
        if numbered := [name for name in ids if pd.api.types.is_numeric_dtype(table[name])]:
            table = table.assign(**{n: table[n].map(as_id, na_action="ignore") for n in numbered})
        try:
            validated = self.schema().validate(table, lazy=True)
        except SchemaErrors as errors:
            named = {self.key, *self.feature_names, self.target.name}
            unused = [str(column) for column in table.columns if column not in named]
            keys = table[self.key] if self.key in table.columns else None
            hints = self._target_hint(table)
            report = _report(errors.failure_cases, source, unused, hints, keys=keys)
            raise ContractViolation(report) from None
        return _typed(validated, (*self.features, self.target))

    def _target_hint(self, table: pd.DataFrame) -> list[str]:
        """A binary target given as 0/1 or false/true: which class each stands for."""
        classes, name = self.target.categories, self.target.name
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

    @cached_property
    def request_model(self) -> type[BaseModel]:
        """The pydantic model of one request row, as the serving API accepts it.

        Strict, because a lax conversion is silent train/serve skew: a number must be a
        JSON number (not `true`, not `"2"`), an integer a whole number (`2` or `2.0`, as
        JSON Schema has it; not `2.5`), NaN and Infinity are refused, and so is any
        field the contract does not name.
        """
        fields = {feature.name: _field(feature) for feature in self.features}
        config = ConfigDict(
            extra="forbid",
            strict=True,
            allow_inf_nan=False,
            json_schema_extra={"examples": [dict(self.example)]},
        )
        model = create_model("Order", __config__=config, **fields)
        model.__doc__ = "One row to predict, as the serving API accepts it."
        return model

    def requests(self, table: pd.DataFrame, keyed: bool = False) -> list[dict[str, Any]]:
        """`table`'s rows as the service takes them: each a dict of the features (and the key,
        if `keyed`) in plain Python values: a missing value None (JSON's null, not NaN), a
        time ISO 8601 text."""
        columns = table[[self.key, *self.feature_names] if keyed else self.feature_names]
        as_text = {name: columns[name].map(timestamps.as_text) for name in self.timestamps}
        columns = columns.assign(**as_text) if as_text else columns
        return columns.astype(object).where(columns.notna(), None).to_dict(orient="records")

    def served(self, table: pd.DataFrame) -> list[dict[str, Any]]:
        """`table`'s rows as the service hands them to the model: each request validated
        by the request model (a time a datetime, a missing value None)."""
        return [self.request_model(**row).model_dump() for row in self.requests(table)]

    def frame(self, rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
        """Validated rows as the table the model takes: its columns, in its order.

        Built column by column from plain values (serving calls it once per batch);
        categories stay Python strings, which the encoder reads as it reads `str` columns.
        """
        return pd.DataFrame(
            {
                feature.name: np.array(
                    [row[feature.name] for row in rows],
                    dtype=feature.column_dtype,
                )
                for feature in self.features
            }
        )

    def samples(self, n: int, seed: int = 0) -> pd.DataFrame:
        """`n` labelled rows spread over every feature's range and categories.

        The target depends on every feature, so a model can learn it: tests and
        start-up checks use these rows, never the example data generator.
        """
        rng = np.random.default_rng(seed)
        columns, effects = {}, []
        for feature in self.features:
            if feature.is_categorical:
                categories = feature.categories or _many(feature.name)
                codes = rng.integers(0, len(categories), n)
                values = np.array(categories, dtype=object)[codes]
                effects.append(codes / max(len(categories) - 1, 1))
            elif feature.is_timestamp:  # a year of them, to the second
                seconds = rng.integers(0, 365 * 24 * 3600, n)
                values = np.datetime64("2026-01-01") + seconds.astype("timedelta64[s]")
                values = values.astype(feature.column_dtype)
                effects.append(seconds % (24 * 3600) / (24 * 3600))  # by the hour of the day
            else:
                low, high = feature.minimum, feature.maximum
                if feature.dtype is int:
                    values = rng.integers(int(low), int(high) + 1, n)
                else:
                    values = rng.uniform(low, high, n).round(3)
                effects.append((values - low) / (high - low))
            if feature.nullable:  # one row in ten missing: None, NaT, or a number's NaN
                values = values.astype(feature.column_dtype)
                if feature.is_categorical:
                    gone: Any = None
                else:
                    gone = np.datetime64("NaT") if feature.is_timestamp else np.nan
                values[rng.random(n) < 0.1] = gone
            columns[feature.name] = values
        signal = np.mean(effects, axis=0) + rng.normal(0, 0.02, n)
        if self.target.is_categorical:  # the classes by the signal's quantiles, as many of each
            edges = np.quantile(signal, np.linspace(0, 1, len(self.target.categories) + 1)[1:-1])
            target = np.array(self.target.categories, dtype=object)[np.digitize(signal, edges)]
        else:
            low, high = self.target.minimum, self.target.maximum
            target = np.clip(low + (high - low) * (0.1 + 0.5 * signal), low, high).round(2)
        return pd.DataFrame({self.key: np.arange(1, n + 1), **columns, self.target.name: target})

    @cached_property
    def keyed_request_model(self) -> type[BaseModel]:
        """`request_model` and, optionally, the row's key: what the service accepts.

        The key is not a feature: the prediction log records it, so that outcomes
        reported later under the same key can be joined to the prediction.
        """
        description = f"Optional: your {self.key}, to report this order's outcome under later"
        # A whole number (2.0 is 2, as for the features) that fits a Postgres bigint.
        whole = Annotated[int, Field(ge=0, le=2**63 - 1), BeforeValidator(_whole_number)]
        key = (whole | None, Field(None, description=description))
        return create_model(
            self.request_model.__name__, __base__=self.request_model, **{self.key: key}
        )

    def validate_outcomes(self, table: pd.DataFrame, source: str) -> pd.DataFrame:
        """Outcomes reported after the fact: each row's key and target, checked as in training."""
        from pandera.errors import SchemaErrors

        outcomes = self.schema().select_columns([self.key, self.target.name])
        try:
            return outcomes.validate(table, lazy=True)
        except SchemaErrors as errors:
            hints = self._target_hint(table)
            keys = table[self.key] if self.key in table.columns else None
            raise ContractViolation(
                _report(errors.failure_cases, source, [], hints, keys=keys)
            ) from None


# An example-data generator: (rows, seed) -> a labelled table that honours the contract.
Generator = Callable[[int, int], pd.DataFrame]


@dataclass(frozen=True)
class UseCase:
    """What a project predicts: the value the runtime takes (a project's usecase.py).

    `example_data` generates the table of `data.source: synthetic`; `scenarios` are
    the weeks `simulate` can replay against a service (name -> generator).
    """

    name: str  # the registered model's name in the MLflow registry
    experiment: str  # the MLflow experiment every run is recorded in
    contract: Contract
    segment: str  # a categorical feature whose groups get their own error figures
    title: str = ""  # the service's title in its API documents; default: name
    example_data: Generator | None = field(default=None, hash=False, compare=False)
    scenarios: Mapping[str, Generator] = field(default_factory=dict, hash=False, compare=False)

    def __post_init__(self) -> None:
        features = self.contract.features  # a high-cardinality one lists no categories
        named = [f.name for f in features if f.dtype is str and f.categories and not f.nullable]
        if self.segment not in named:  # segments are named by their text (a city), not a bool
            raise InvalidContract(
                f"segment {self.segment!r} is not a str feature of the contract that every row"
                f" has, its categories listed (not nullable, not high_cardinality; usecase.py):"
                f" name one of {named}"
            )
        if not self.title:
            object.__setattr__(self, "title", self.name)


def _many(name: str, values: int = 200) -> tuple[str, ...]:
    """Values of a high-cardinality feature for samples: more than a category list holds."""
    return tuple(f"{name}-{i:03d}" for i in range(values))


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool | np.bool_)


def as_boolean(value: Any) -> Any:
    """A bool, or the text "true" or "false" in any case, as a bool; anything else as given
    (1 and 0 are numbers, not booleans, as in the request model)."""
    if _is_bool(value):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value


def _typed(validated: pd.DataFrame, features: Sequence[Feature]) -> pd.DataFrame:
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


def as_id(value: Any) -> str:
    """A high-cardinality value as the text a request gives: a whole number without its
    ".0" (a column of ids with gaps reads as floats: 123.0 is the id "123")."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _column(feature: Feature) -> Any:
    import pandera.pandas as pa

    nullable, description = feature.nullable, feature.description
    if feature.is_timestamp:  # text or datetimes, parsed once it passes (_typed)
        error = f"a timestamp ({timestamps.VALID})"
        is_time = pa.Check(lambda values: timestamps.parsed(values).notna(), error=error)
        return pa.Column(None, checks=[is_time], nullable=nullable, description=description)
    if feature.dtype is bool:  # coerced, a column of text or numbers would all be True
        is_bool = pa.Check(lambda values: values.map(_is_bool).astype(bool), error="true or false")
        return pa.Column(None, checks=[is_bool], nullable=nullable, description=description)
    if feature.high_cardinality:
        checks = [pa.Check.str_length(max_value=MAX_TEXT)]
    elif feature.is_categorical:
        checks = [pa.Check.isin(feature.categories)]
    else:
        checks = [pa.Check.in_range(feature.minimum, feature.maximum)]
    dtype = str if feature.dtype is str else feature.column_dtype
    if feature.dtype is int:  # read as floats, so that 2.5 fails here, not becomes 2 (_typed)
        dtype = float
        checks.append(pa.Check(lambda values: values % 1 == 0, error="a whole number"))
    return pa.Column(dtype, checks=checks, nullable=nullable, coerce=True, description=description)


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
        whole = (BeforeValidator(_whole_number),) if feature.dtype is int else ()
        kind = Annotated[feature.dtype, bounds, *whole]  # bounds first: the schema's
    description = feature.description
    if feature.unseen == "refuse":  # the OpenAPI document says so
        description += " (a value the model never saw in training is refused)"
    if feature.nullable:
        return kind | None, Field(None, description=description)
    return kind, Field(description=description)


def _whole_number(value: Any) -> Any:
    """2.0 is the integer 2 (JSON does not tell them apart); anything else is left to refuse."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


# What pandera's table-wide checks mean, in the words of the fix.
TABLE_CHECKS = {"column_in_dataframe": "columns the contract needs and the table lacks"}


def _report(
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
        values = group["failure_case"].head(examples).tolist()
        if pd.isna(column):  # columns: every one of them, so that one fix covers all
            lines.append(f"  - {TABLE_CHECKS.get(check, check)}: {group['failure_case'].tolist()}")
            if check == "column_in_dataframe" and unused:  # a renamed column, perhaps
                lines.append(f"    (columns it has that the contract does not name: {unused})")
            continue
        rows = group["index"].dropna().astype(int).tolist()
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
