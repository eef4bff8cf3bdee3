"""Compiled tree inference: a tree ensemble walked in C++, not tree by tree in Python.

scikit-learn's gradient boosting calls each of its trees from a Python loop: about
3 ms a call whatever the batch. treelite's GTIL walks every tree in C++: measured
here for 300 trees, about 25 us a call plus 15 us a row, through the one C call
below (its Python wrapper adds some 75 us a call, which per-segment batches pay many
times). The caller uses it only after checking, at start-up, that it predicts what
the model itself predicts (serving/predictor.py).
"""

import ctypes
from collections.abc import Callable
from typing import Any

import numpy as np

Predict = Callable[[np.ndarray], np.ndarray]
TREE_ENSEMBLES = tuple(
    f"{module}.{kind}{task}"
    for module, kind in (
        ("sklearn.ensemble._hist_gradient_boosting.gradient_boosting", "HistGradientBoosting"),
        ("sklearn.ensemble._forest", "RandomForest"),
        ("sklearn.ensemble._forest", "ExtraTrees"),
        ("sklearn.ensemble._gb", "GradientBoosting"),
        ("lightgbm.sklearn", "LGBM"),
    )
    for task in ("Regressor", "Classifier")
)
# scikit-learn's own trees (not its histogram boosting) compare a feature as float32 against
# a float64 threshold: a value whose float32 falls on the other side goes the other way.
FLOAT32_INPUT = ("sklearn.ensemble._forest.", "sklearn.ensemble._gb.")


class NotCompiled(Exception):
    """The compiled path does not take this model; str() says why."""


def compiled(estimator: Any) -> Predict | None:
    """GTIL's predict over the encoded features, or None for a model it cannot take."""
    try:
        return compile_trees(estimator)
    except NotCompiled:
        return None


def kind_of(estimator: Any) -> str:
    return f"{type(estimator).__module__}.{type(estimator).__name__}"


def compile_trees(estimator: Any) -> Predict:
    """GTIL's predict over the encoded features; NotCompiled says why not for another model.

    A TransformedTargetRegressor (log target) is its regressor's trees, then its inverse.
    A classifier's predict gives its probabilities, one column per class in `classes_` order.
    """
    inverse = None
    if type(estimator).__name__ == "TransformedTargetRegressor":
        estimator, inverse = estimator.regressor_, estimator.inverse_func
    kind = kind_of(estimator)
    if kind not in TREE_ENSEMBLES:
        raise NotCompiled(
            f"{kind} is not a tree ensemble the compiled path takes (scikit-learn's gradient "
            "boosting and forests, LightGBM)"
        )
    import treelite
    from treelite.core import _LIB
    from treelite.gtil.gtil import GTILConfig

    if kind.startswith("lightgbm."):
        model = treelite.frontend.from_lightgbm(estimator.booster_)
    else:
        model = treelite.sklearn.import_model(estimator)
    if (model.input_type, model.output_type) != ("float64", "float64"):
        raise NotCompiled(
            f"treelite reads {kind}'s trees as {model.input_type}, the model predicts in float64"
        )
    as_float32 = kind.startswith(FLOAT32_INPUT)
    config = GTILConfig(nthread=1, predict_type="default")
    double = ctypes.POINTER(ctypes.c_double)
    # Values a row: 1 for a regression or a binary booster (the positive class's
    # probability), else one per class.
    width = int(np.prod(treelite.gtil.predict(model, np.zeros((1, model.num_feature))).shape[1:]))
    classifies = kind.endswith("Classifier")

    def predict(encoded: np.ndarray) -> np.ndarray:
        rows = np.ascontiguousarray(encoded, dtype=np.float32 if as_float32 else np.float64)
        rows = rows.astype(np.float64, copy=False)
        out = np.empty((len(rows), width), dtype=np.float64)
        status = _LIB.TreeliteGTILPredict(
            model.handle,
            rows.ctypes.data_as(double),
            b"float64",
            ctypes.c_uint64(len(rows)),
            out.ctypes.data_as(double),
            config.handle,
        )
        if status != 0:
            raise RuntimeError(_LIB.TreeliteGetLastError().decode())
        if classifies:
            return np.column_stack([1 - out[:, 0], out[:, 0]]) if width == 1 else out
        return inverse(out[:, 0]) if inverse is not None else out[:, 0]

    return predict
