"""Derived features: the project's own feature code, written once, run inside the model.

A derived feature is a function of the contract's features, plain Python in the
project (its features.py): `compute(rows)` takes validated rows, a DataFrame of the
contract's features as the model takes them, and gives one value per row. The model's
first step (`DeriveFeatures`) computes it, so training, the service, batch scoring and
the monitor run the same code on the same columns: no second implementation to skew.

The saved model names the functions (skops loads them from the installed project) and
records the version of their code, a hash of their modules' code (`code_version`). A
model whose version is not the installed code's is refused where it loads
(model_io.check_fits), as one trained with another contract is: a champion never
meets feature code other than its own.
"""

import ast
import hashlib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from .feature import Feature, InvalidContract
from .problems import Problem

EXAMPLES = 5  # rows a report shows of each problem


class InvalidDerived(Problem):
    """A derived feature's code gave values its declaration refuses; str() names them, and
    `reasons` says, for each row in order, why its values are refused ("": they are not)."""

    def __init__(self, message: str, reasons: list[str]) -> None:
        super().__init__(message)
        self.reasons = reasons


class FeatureCodeFailed(Problem):
    """A derived feature's code raised, or gave no value per row: the project's fault, not
    the rows' (the service answers it with a 500, not a 422)."""


@dataclass(frozen=True)
class Derived:
    """A feature the model takes that rows do not carry: `compute(rows)` gives it."""

    feature: Feature  # what it gives: a dtype, bounds or categories, whether it may be missing
    compute: Callable[[pd.DataFrame], Any]  # rows -> a value per row: a Series, array or list

    def __post_init__(self) -> None:
        if not isinstance(self.feature, Feature):
            raise InvalidContract(
                f"derived feature {self.feature!r} (usecase.py): give it as"
                " Derived(Feature(...), function)"
            )
        what = f"derived feature {self.feature.name!r} (usecase.py)"
        if self.feature.is_timestamp:
            raise InvalidContract(f"{what} is a datetime: derive its parts as numbers instead")
        if self.feature.unseen == "refuse":  # what a model learnt is checked on the rows given
            raise InvalidContract(
                f"{what} has unseen='refuse': refuse the values of the features it is"
                " computed from instead, or drop it"
            )
        function, module = self.compute, getattr(self.compute, "__module__", None)
        name = getattr(function, "__name__", "")
        top_level = module not in (None, "__main__") and (
            getattr(sys.modules.get(module), name, None) is function
        )
        if not top_level:
            raise InvalidContract(
                f"{what}: its function must be defined at the top of one of the project's"
                " modules (features.py), not a lambda, a nested function or a script's: the"
                " saved model names it, and the service imports it by that name"
            )

    @property
    def name(self) -> str:
        return self.feature.name

    @property
    def function(self) -> str:
        return f"{self.compute.__module__}.{self.compute.__name__}"


def code_version(derived: Sequence[Derived]) -> str:
    """The version of the code that computes `derived`: a hash of each declaration and of
    the code of every module that defines one of its functions, and of the project's
    modules those import (an edit to a helper is a new version; to a comment, a docstring
    or the layout, not)."""
    digest = hashlib.sha256()
    for one in sorted(derived, key=lambda one: one.name):
        digest.update(f"{one.function} -> {one.feature!r}\n".encode())
    for module in sorted(_with_imports({one.compute.__module__ for one in derived})):
        digest.update(f"{module}\n{ast.unparse(_code(module))}\n".encode())
    return digest.hexdigest()[:16]


def _code(module: str) -> ast.Module:
    """`module`'s code without its docstrings: what it does, however it is laid out."""
    try:
        tree = ast.parse(inspect.getsource(importlib.import_module(module)))
    except (OSError, TypeError, SyntaxError) as error:
        raise InvalidContract(
            f"the source of {module}, which computes derived features, cannot be read"
            f" ({error}): install the project with its .py files"
        ) from None
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and _is_docstring(body[0]):
            node.body = body[1:] or [ast.Pass()]
    return tree


def _is_docstring(statement: ast.stmt) -> bool:
    value = getattr(statement, "value", None)
    return (
        isinstance(statement, ast.Expr)
        and isinstance(value, ast.Constant)
        and (isinstance(value.value, str))
    )


def _with_imports(modules: set[str]) -> set[str]:
    """`modules` and the modules of their own package that they import, transitively."""
    found, todo = set(), sorted(modules)
    while todo:
        module = todo.pop()
        if module in found:
            continue
        found.add(module)
        package = module.split(".")[0]
        here = module if _is_package(module) else module.rpartition(".")[0]
        for node in ast.walk(_code(module)):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = "." * node.level + (node.module or "")
                base = importlib.util.resolve_name(base, here) if node.level else base
                names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            else:
                continue
            todo += [name for name in names if name.split(".")[0] == package and _is_module(name)]
    return found


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a name imported from a module, not a module
        return False


def _is_package(module: str) -> bool:
    spec = importlib.util.find_spec(module)
    return spec is not None and spec.submodule_search_locations is not None


def derive(rows: pd.DataFrame, derived: Sequence[Derived], check: bool) -> pd.DataFrame:
    """`rows` with each derived feature's column added, as the model takes it.

    `check` (training, validation): InvalidDerived unless every value is what its
    declaration allows (its dtype, bounds or categories; a value unless nullable). Served
    rows are not checked against bounds (a request's values may take a ratio past those
    training saw; the monitor counts them), but a missing value is never let through
    unless the feature may be missing.
    """
    columns, problems, refused = {}, [], []
    for one in derived:
        values = _computed(one, rows)
        column, bad, missing = _as_column(values, one, check)
        columns[one.name] = pd.Series(column, index=rows.index)
        if found := _problems(one, values, bad, missing):
            problems += found
            refused.append((one, bad, missing))
    if problems:
        raise InvalidDerived(
            "the project's feature code gives values its declaration refuses (usecase.py):\n"
            + "\n".join(f"  - {problem}" for problem in problems)
            + "\nFix the function, or the derived feature's declaration.",
            _reasons(len(rows), refused),
        )
    return rows.assign(**columns)


def _reasons(count: int, refused: list[tuple[Derived, np.ndarray, np.ndarray]]) -> list[str]:
    """Why each of `count` rows is refused ("": it is not), from each refused feature's
    masks of values not as declared and of missing values."""
    reasons: list[list[str]] = [[] for _ in range(count)]
    for one, bad, missing in refused:
        unlike = "not of its categories" if one.feature.is_categorical else "out of its bounds"
        for row in np.flatnonzero(bad):
            reasons[row].append(f"{one.function} gives {one.name} a value {unlike}")
        if not one.feature.nullable:
            for row in np.flatnonzero(missing):
                reasons[row].append(f"{one.function} gives {one.name} no value")
    return ["; ".join(why) for why in reasons]


def refusals(rows: pd.DataFrame, derived: Sequence[Derived]) -> pd.Series:
    """Why the model cannot take each row, as served rows are checked (`derive`): "" for
    a row it takes. Batch scoring rejects those rows, with the reason, and scores the rest."""
    try:
        derive(rows, derived, check=False)
    except InvalidDerived as refused:
        return pd.Series(refused.reasons, index=rows.index, dtype=object)
    return pd.Series("", index=rows.index, dtype=object)


def _computed(one: Derived, rows: pd.DataFrame) -> np.ndarray:
    try:
        values = np.asarray(one.compute(rows.copy(deep=False)), dtype=object)
    except Exception as error:  # the team's code: any error is theirs to see, named
        raise FeatureCodeFailed(
            f"derived feature {one.name!r}: {one.function} raised {type(error).__name__}: {error}"
        ) from error
    if values.shape != (len(rows),):
        raise FeatureCodeFailed(
            f"derived feature {one.name!r} ({one.function}) gives {values.shape} values for"
            f" {len(rows)} rows: give one value per row (a Series or a 1-D array)"
        )
    return values


def _as_column(
    values: np.ndarray, one: Derived, check: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(The column the model takes, the values its declaration refuses, the missing ones)."""
    feature = one.feature
    missing = pd.isna(values)
    if feature.is_categorical:
        column = np.where(missing, None, values).astype(object)
        bad = ~missing & ~_in(values, feature.categories or None, feature.dtype)
    else:
        numbers = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=np.float64)
        bad = ~missing & ~np.isfinite(numbers)  # text, or an infinity
        if check:
            low, high = feature.minimum, feature.maximum
            bad |= ~missing & ~bad & ((numbers < low) | (numbers > high))
            if feature.dtype is int:
                bad |= ~missing & ~bad & (numbers % 1 != 0)
        else:  # served: an infinity (a division by zero), or an int's 2.5, is no value
            if feature.dtype is int:
                bad |= ~missing & ~bad & (numbers % 1 != 0)
            missing, bad = missing | bad, np.zeros(len(values), dtype=bool)
        numbers[missing] = np.nan
        whole = feature.column_dtype is not float and not missing.any()
        column = numbers.astype(feature.dtype) if whole else numbers
    return column, bad, missing


def _problems(one: Derived, values: np.ndarray, bad: np.ndarray, missing: np.ndarray) -> list:
    what, found = f"{one.name!r} ({one.function})", []
    if bad.any():
        rows_at = np.flatnonzero(bad)[:EXAMPLES].tolist()
        found.append(
            f"{what}: {int(bad.sum())} values not {_allowed(one.feature)}, e.g. rows"
            f" {rows_at}: {values[bad][:EXAMPLES].tolist()}"
        )
    if missing.any() and not one.feature.nullable:
        rows_at = np.flatnonzero(missing)[:EXAMPLES].tolist()
        found.append(
            f"{what}: no value for {int(missing.sum())} rows, e.g. rows {rows_at}: give"
            " one, or declare it nullable=True"
        )
    return found


def _in(values: np.ndarray, categories: tuple[Any, ...] | None, dtype: type) -> np.ndarray:
    if categories is not None:
        listed = set(categories)
        return np.array([value in listed for value in values.tolist()], dtype=bool)
    return np.array([isinstance(value, dtype) for value in values.tolist()], dtype=bool)


def _allowed(feature: Feature) -> str:
    if feature.categories:
        return f"of its categories {list(feature.categories)}"
    if feature.is_categorical:
        return "text"
    return f"numbers within [{feature.minimum}, {feature.maximum}]" + (
        ", whole" if feature.dtype is int else ""
    )


class DeriveFeatures(TransformerMixin, BaseEstimator):
    """The model's first step: the rows, with the derived features added (`derive`).

    Fitting checks the training rows' values and records the code's version
    (`code_version_`), which the saved model's metadata carries.
    """

    def __init__(self, derived: tuple[Derived, ...] = ()) -> None:
        self.derived = derived

    def fit(self, rows: pd.DataFrame, target: Any = None) -> "DeriveFeatures":
        self.fit_transform(rows)
        return self

    def transform(self, rows: pd.DataFrame) -> pd.DataFrame:
        return derive(rows, self.derived, check=False)

    def fit_transform(self, rows: pd.DataFrame, target: Any = None, **_: Any) -> pd.DataFrame:
        derived = derive(rows, self.derived, check=True)
        self.code_version_ = code_version(self.derived)
        self.feature_names_in_ = np.array(list(rows.columns), dtype=object)
        return derived

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """The columns it gives: the ones it took (the contract's features), then the
        derived ones."""
        if input_features is None:
            input_features = self.feature_names_in_
        return np.array([*input_features, *(one.name for one in self.derived)], dtype=object)
