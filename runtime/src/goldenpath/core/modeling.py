"""The model: the contract's feature encoding in front of a configurable estimator.

Encoding lives inside the scikit-learn pipeline, so the saved model carries it
and serving applies exactly what training applied.
"""

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .contract import Contract
from .params import ModelParams


def build_model(contract: Contract, model: ModelParams, log_target: bool = False) -> Pipeline:
    """The estimator `model` names (conf/model/), behind the contract's encoding.

    `log_target` fits on log(target), for errors that grow with its size.
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
    regressor = model.estimator_class()(**model.hyperparameters)
    if log_target:
        regressor = TransformedTargetRegressor(regressor, func=np.log, inverse_func=np.exp)
    return Pipeline([("encode", encode), ("estimator", regressor)])


def fit_model(
    rows: pd.DataFrame, contract: Contract, model: ModelParams, log_target: bool
) -> Pipeline:
    """The model `model` names, fitted on `rows` (a module-level function: Dask ships it)."""
    fitted = build_model(contract, model, log_target)
    return fitted.fit(rows[contract.feature_names], rows[contract.target.name])


def regression_metrics(actual: pd.Series, predicted: np.ndarray) -> dict[str, float]:
    return {
        "mae": float(mean_absolute_error(actual, predicted)),
        "rmse": float(np.sqrt(mean_squared_error(actual, predicted))),
        "r2": float(r2_score(actual, predicted)),
    }


def mae(actual: pd.Series, predicted: np.ndarray) -> float:
    return float(mean_absolute_error(actual, predicted))
