"""The model: contract-driven feature encoding in front of a configurable estimator.

Encoding lives inside the scikit-learn pipeline, so the saved model carries it
and serving applies exactly what training applied.
"""

from typing import Any

import hydra.utils
import numpy as np
import pandas as pd
import skops.io
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .contract import CATEGORICAL, FEATURES, NUMERIC

# Types from these libraries may be loaded from a skops file; anything else in a
# model (a custom class, a lambda) must be reviewed before it is trusted.
TRUSTED_MODULES = ("sklearn.", "numpy.", "scipy.")


def build_model(estimator: dict[str, Any], log_target: bool = False) -> Pipeline:
    """`estimator` is a Hydra node with `_target_` (see conf/model/).

    `log_target` fits on log(minutes), for errors that grow with the duration.
    """
    categories = [list(feature.categories) for feature in FEATURES if feature.is_categorical]
    encode = ColumnTransformer(
        [
            ("categorical", OneHotEncoder(categories=categories, sparse_output=False), CATEGORICAL),
            ("numeric", StandardScaler(), NUMERIC),
        ]
    )
    regressor = hydra.utils.instantiate(estimator)
    if log_target:
        regressor = TransformedTargetRegressor(regressor, func=np.log, inverse_func=np.exp)
    return Pipeline([("encode", encode), ("estimator", regressor)])


def skops_trusted_types(model: Pipeline) -> list[str]:
    """The types MLflow's skops loader must trust to load `model`."""
    types = skops.io.get_untrusted_types(data=skops.io.dumps(model))
    foreign = [name for name in types if not name.startswith(TRUSTED_MODULES)]
    if foreign:
        raise TypeError(f"model contains types skops should not trust blindly: {foreign}")
    return types


def regression_metrics(actual: pd.Series, predicted: np.ndarray) -> dict[str, float]:
    return {
        "mae": float(mean_absolute_error(actual, predicted)),
        "rmse": float(np.sqrt(mean_squared_error(actual, predicted))),
        "r2": float(r2_score(actual, predicted)),
    }


def mae_by(frame: pd.DataFrame, predicted: np.ndarray, column: str, target: str) -> pd.DataFrame:
    """Mean absolute error and order count for each value of `column`."""
    errors = frame.assign(abs_error=(frame[target] - predicted).abs())
    grouped = errors.groupby(column, observed=True)["abs_error"]
    return grouped.agg(mae="mean", orders="size").reset_index().round({"mae": 3})
