"""The feature contract: what one row to predict looks like, as a value.

Validation (the pandera schema, validation.py), training (column order and encodings)
and serving (the request model, request_model.py) are all derived from a `Contract`,
so they cannot drift apart. The project's own contract is in `usecase.py`.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ValidationError

from . import request_model, timestamps, validation
from .derived import Derived, derive
from .feature import Feature as Feature  # the contract's parts, imported from here too
from .feature import InvalidContract
from .tasks import TASKS, TaskName
from .validation import ContractViolation as ContractViolation  # what validate raises


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
        for name, one in (("derived", Derived), ("passthrough", str)):
            if isinstance(getattr(self, name), one):  # tuple() would split it up
                raise InvalidContract(
                    f"the contract's {name} (usecase.py) is one {one.__name__}: give a tuple"
                    f" of them, with a comma after one: {name}=(...,)"
                )
        # A list is taken too; kept as a tuple, so that the frozen Contract stays hashable.
        object.__setattr__(self, "derived", tuple(self.derived))
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
        if not self.derived:
            return table
        # The code sees the features alone, as inside the model: never a target to leak.
        computed = derive(table[self.feature_names], self.derived, check)
        return table.assign(**{name: computed[name] for name in self.derived_names})

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

    def validate(self, table: pd.DataFrame, source: str) -> pd.DataFrame:
        """`table`'s key, features and target, coerced to the contract's dtypes (its other
        columns dropped), or ContractViolation naming every problem."""
        return validation.checked(table, source, self.key, self.features, self.target)

    @cached_property
    def request_model(self) -> type[BaseModel]:
        """The pydantic model of one request row, as the serving API accepts it (strict:
        request_model.py says why)."""
        return request_model.order_model(self.features, self.example)

    @cached_property
    def keyed_request_model(self) -> type[BaseModel]:
        """`request_model` and, optionally, the row's key: what the service accepts."""
        return request_model.keyed_model(self.request_model, self.key)

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

    def validate_outcomes(self, table: pd.DataFrame, source: str) -> pd.DataFrame:
        """Outcomes reported after the fact: each row's key and target, checked as in training."""
        return validation.checked(table, source, self.key, (), self.target)


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
