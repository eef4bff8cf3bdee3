"""The model: the contract's feature encoding in front of a configurable estimator.

Encoding lives inside the scikit-learn pipeline, so the saved model carries it
and serving applies exactly what training applied. It depends on the model's family:
categories are one-hot encoded for every model, numbers are scaled for the models that
weigh them (linear models, neighbours, kernels, networks), not for trees, which split
on thresholds and learn the same splits from the numbers as they are.
"""

import re

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .contract import Contract
from .params import InvalidParams, ModelParams, Params
from .tasks import gate_metric, task_of


def build_model(contract: Contract, model: ModelParams, log_target: bool = False) -> Pipeline:
    """The estimator `model` names (conf/model/), behind the contract's encoding.

    `log_target` fits on log(target), for errors that grow with its size (a regression's).
    An estimator that does not fit the contract's task is refused (tasks.TaskMismatch).
    """
    estimator = model.estimator_class()(**model.hyperparameters)
    _check_values(estimator)
    encode = encoding(contract, splits_on_thresholds(estimator))
    estimator = task_of(contract).wrap(estimator, log_target, model.target)
    return Pipeline([("encode", encode), ("estimator", estimator)])


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


def encoding(contract: Contract, trees: bool) -> ColumnTransformer:
    """The contract's features as the model takes them: categories one-hot, numbers scaled
    unless the model is made of trees."""
    categories = [
        list(feature.categories) for feature in contract.features if feature.is_categorical
    ]
    one_hot = OneHotEncoder(categories=categories, sparse_output=False)
    numbers = "passthrough" if trees else StandardScaler()
    return ColumnTransformer(
        [("categorical", one_hot, contract.categorical), ("numeric", numbers, contract.numeric)]
    )


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
