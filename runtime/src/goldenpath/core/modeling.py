"""The model: the contract's feature encoding in front of a configurable estimator.

Encoding lives inside the scikit-learn pipeline, so the saved model carries it
and serving applies exactly what training applied. It depends on the model's family:
categories are one-hot encoded for every model, numbers are scaled for the models that
weigh them (linear models, neighbours, kernels, networks), not for trees, which split
on thresholds and learn the same splits from the numbers as they are. A missing value
(a nullable feature's) is a category of its own; a missing number is left to the models
that take one (gradient boosting, forests), and imputed for the others: the median, and
a column saying it was missing. A high-cardinality category (an id) is target-encoded:
each value is the target's mean over its training rows, shrunk towards the overall
mean the fewer they are, cross-fitted so that a row never encodes its own target; a
value training never saw is the overall mean. A timestamp is its calendar parts
(the hour, the weekday...), numbers like the others. Derived features (the project's
feature code, core/derived.py) are computed first, then encoded as features of their kind.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    StandardScaler,
    TargetEncoder,
)
from sklearn.utils import get_tags

from .contract import Contract
from .derived import DeriveFeatures
from .feature import Feature
from .params import InvalidParams, ModelParams, Params
from .problems import Problem
from .tasks import gate_metric, task_of
from .timestamps import calendar_parts


def build_model(contract: Contract, model: ModelParams, log_target: bool = False) -> Pipeline:
    """The estimator `model` names (conf/model/), behind the contract's encoding.

    `log_target` fits on log(target), for errors that grow with its size (a regression's).
    An estimator that does not fit the contract's task is refused (tasks.TaskMismatch).
    """
    estimator = model.estimator_class()(**model.hyperparameters)
    _check_values(estimator)
    encode = encoding(contract, splits_on_thresholds(estimator), takes_missing(estimator))
    estimator = task_of(contract).wrap(estimator, log_target, model.target)
    steps = [("encode", encode), ("estimator", estimator)]
    if contract.derived:  # only then: a model of a contract without them keeps its steps
        steps.insert(0, ("derive", DeriveFeatures(contract.derived)))
    return Pipeline(steps)


def _check_values(estimator: object) -> None:
    """A value scikit-learn would refuse at fit (C=-1), refused now in one line: its
    estimators declare their parameters' constraints; another library checks at fit."""
    if not hasattr(estimator, "_parameter_constraints"):
        return
    try:
        estimator._validate_params()  # type: ignore[attr-defined]
    except (ValueError, TypeError) as error:  # scikit-learn's InvalidParameterError
        named = re.match(r"The '(\w+)' parameter", str(error))
        raise InvalidParams([f"model{'.' + named[1] if named else ''}: {error}"]) from None


# The modules of the tree models: scikit-learn's trees, forests and gradient boosting,
# and the boosting libraries'.
TREE_MODULES = (
    "sklearn.tree.",
    "sklearn.ensemble._forest",
    "sklearn.ensemble._gb",
    "sklearn.ensemble._hist_gradient_boosting.",
    "lightgbm.",
    "xgboost.",
    "catboost.",
)


def splits_on_thresholds(estimator: object) -> bool:
    """Whether `estimator` is a tree model (TREE_MODULES), or a team's subclass of one,
    which takes numbers unscaled."""
    return any(kind.__module__.startswith(TREE_MODULES) for kind in type(estimator).__mro__)


def takes_missing(estimator: object) -> bool:
    """Whether `estimator` learns from a missing number (NaN) itself, as its tags declare."""
    try:
        return bool(get_tags(estimator).input_tags.allow_nan)
    except (AttributeError, TypeError):  # not a scikit-learn estimator: it declares nothing
        return False


def encoding(contract: Contract, trees: bool, missing_taken: bool = False) -> ColumnTransformer:
    """The contract's features as the model takes them: categories one-hot (a nullable
    one's missing value last, as a category), numbers scaled unless the model is made of
    trees, and a nullable number imputed unless the model takes a missing one."""
    features = contract.inputs  # the derived ones too
    listed = [feature for feature in features if feature.categories]
    categories = [[*f.categories, *([None] if f.nullable else [])] for f in listed]
    one_hot = OneHotEncoder(categories=categories, sparse_output=False)
    numbers = "passthrough" if trees else StandardScaler()
    imputed = [] if missing_taken else [f.name for f in features if _missing_number(f)]
    numeric = [f.name for f in features if not (f.is_categorical or f.is_timestamp)]
    columns = [name for name in numeric if name not in imputed]
    parts = [("categorical", one_hot, [f.name for f in listed]), ("numeric", numbers, columns)]
    # Each only when the contract has such features: a model of a contract without them
    # keeps the encoding it had.
    if imputed:
        imputer = SimpleImputer(strategy="median", add_indicator=True)
        parts.append(("imputed", imputer if trees else make_pipeline(imputer, numbers), imputed))
    if contract.timestamps:  # their calendar parts, numbers: imputed and scaled as the others
        times = [f for f in features if f.is_timestamp]
        calendar = [f.calendar for f in times]
        steps: list = [FunctionTransformer(calendar_parts, kw_args={"parts": calendar})]
        if any(f.nullable for f in times) and not missing_taken:
            steps.append(SimpleImputer(strategy="median", add_indicator=True))
        steps += [] if trees else [StandardScaler()]
        parts.append(("calendar", make_pipeline(*steps), contract.timestamps))
    many = [f.name for f in features if f.high_cardinality]
    if many:
        folds = (KFold if contract.task == "regression" else StratifiedKFold)(
            5, shuffle=True, random_state=0
        )  # cross-fitted: a training row's code is learnt from the other folds' rows
        target_encoded = TargetEncoder(target_type=TARGET_TYPES[contract.task], cv=folds)
        encoded = target_encoded if trees else make_pipeline(target_encoded, StandardScaler())
        parts.append(("target_encoded", encoded, many))
    return ColumnTransformer(parts)


# scikit-learn's TargetEncoder's name for each task's target.
TARGET_TYPES = {"regression": "continuous", "binary": "binary", "multiclass": "multiclass"}


def learnt_values(model: Any) -> dict[str, frozenset[str]]:
    """The values of each high-cardinality feature the fitted `model` learnt (its target
    encoder's), by feature; {} for a model without the contract's encoding."""
    steps = getattr(model, "steps", [])
    encode = next((step for _, step in steps if isinstance(step, ColumnTransformer)), None)
    if encode is None or not hasattr(encode, "transformers_"):
        return {}
    for name, encoder, columns in encode.transformers_:
        if name == "target_encoded":
            encoder = encoder[0] if isinstance(encoder, Pipeline) else encoder
            return {
                column: frozenset(map(str, values))
                for column, values in zip(columns, encoder.categories_, strict=True)
            }
    return {}


class NothingLearnt(Problem):
    pass


@dataclass(frozen=True)
class KnownValues:
    """The only values the served models take of each feature of unseen="refuse": the
    global model's, and a segment model's for its segment's rows (each learnt its own)."""

    main: Mapping[str, frozenset[str]]
    segment: str = ""
    own: Mapping[str, Mapping[str, frozenset[str]]] = field(default_factory=dict)

    def of(self, segment_value: Any) -> Mapping[str, frozenset[str]]:
        """What the model that predicts a row of `segment_value` takes."""
        return self.own.get(segment_value, self.main)


def known_values(
    contract: Contract, main: Any, segment: str = "", own: Mapping[str, Any] | None = None
) -> KnownValues:
    """KnownValues of `main` (a model) and `own` (the segments' models, by value)."""
    learnt = {value: unseen_refused(contract, model) for value, model in (own or {}).items()}
    return KnownValues(unseen_refused(contract, main), segment, learnt)


def unseen_refused(contract: Contract, model: Any) -> dict[str, frozenset[str]]:
    """The values `model` learnt of each feature of unseen="refuse": the only ones it takes.
    NothingLearnt if it learnt none (a model without the contract's encoding)."""
    refused = [feature.name for feature in contract.features if feature.unseen == "refuse"]
    if not refused:
        return {}
    learnt = learnt_values(model)
    if missing := [name for name in refused if name not in learnt]:
        raise NothingLearnt(
            f"{missing} refuse the values training never saw (unseen='refuse', usecase.py),"
            " and the model learnt none: use a model trained with the contract's encoding"
        )
    return {name: learnt[name] for name in refused}


def _missing_number(feature: Feature) -> bool:
    return feature.nullable and not (feature.is_categorical or feature.is_timestamp)


def fit_model(
    rows: pd.DataFrame, contract: Contract, model: ModelParams, log_target: bool
) -> Pipeline:
    """The model `model` names, fitted on `rows` (a module-level function: Dask ships it)."""
    fitted = build_model(contract, model, log_target)
    return fitted.fit(rows[contract.feature_names], rows[contract.target.name])


def check_task(params: Params, contract: Contract) -> None:
    """Refuse, before any stage runs, a model, log target or gate metric the task cannot take."""
    build_model(contract, params.model, params.train.log_target)
    gate_metric(task_of(contract, params.train.threshold), params.promotion.metric)
