"""The model: the contract's feature encoding in front of a configurable estimator.

Encoding lives inside the scikit-learn pipeline, so the saved model carries it
and serving applies exactly what training applied.
"""

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .contract import Contract
from .params import ModelParams, Params
from .tasks import gate_metric, task_of


def build_model(contract: Contract, model: ModelParams, log_target: bool = False) -> Pipeline:
    """The estimator `model` names (conf/model/), behind the contract's encoding.

    `log_target` fits on log(target), for errors that grow with its size (a regression's).
    An estimator that does not fit the contract's task is refused (tasks.TaskMismatch).
    """
    categories = [
        list(feature.categories) for feature in contract.features if feature.is_categorical
    ]
    encode = ColumnTransformer(
        [
            (
                "categorical",
                OneHotEncoder(categories=categories, sparse_output=False),
                contract.categorical,
            ),
            ("numeric", StandardScaler(), contract.numeric),
        ]
    )
    estimator = model.estimator_class()(**model.hyperparameters)
    estimator = task_of(contract).wrap(estimator, log_target, model.target)
    return Pipeline([("encode", encode), ("estimator", estimator)])


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
