"""The served pipeline's predict, without scikit-learn's per-call DataFrame overhead.

On a DataFrame, Pipeline.predict spends most of a small batch's time selecting
and checking columns (about 6 ms of 9 per call here). Serving instead gives each
fitted encoder of the ColumnTransformer its columns as one plain array, then
runs the remaining steps. `lean_predictor` first checks on rows spread over
the contract's ranges and categories that this gives what the pipeline gives
(within TOLERANCE minutes: a model that sums in parallel differs in the last
bits), and keeps the pipeline if not.
"""

import copy
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from ..core.contract import Contract
from .batching import Rows

Predict = Callable[[Rows], np.ndarray]
TOLERANCE = 1e-6  # of a prediction: far below what anyone reads, far above float noise
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Predictor:
    predict: Predict
    lean: bool  # False: through the pipeline's own predict

    def call_seconds(self, contract: Contract, orders: int) -> float:
        """The time of one call on `orders` rows: the best of three, so noise does not count."""
        rows = contract.samples(orders)[contract.feature_names].to_dict(orient="records")
        times = []
        for _ in range(3):
            start = time.perf_counter()
            self.predict(rows)
            times.append(time.perf_counter() - start)
        return min(times)


def lean_predictor(model: Any, contract: Contract) -> Predictor:
    """A predict over plain rows equal to `model.predict(contract.frame(rows))`."""

    def through_pipeline(rows: Rows) -> np.ndarray:
        return model.predict(contract.frame(rows))

    try:
        lean = _compile(model, contract)
        rows = contract.samples(256)[contract.feature_names].to_dict(orient="records")
        if np.allclose(lean(rows), through_pipeline(rows), rtol=0, atol=TOLERANCE):
            return Predictor(lean, lean=True)
        log.warning("lean predict differs from the pipeline's: serving through the pipeline")
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as error:
        log.warning("serving through the pipeline: %s", error)
    return Predictor(through_pipeline, lean=False)


def _compile(model: Any, contract: Contract) -> Predict:
    if not (isinstance(model, Pipeline) and isinstance(model[0], ColumnTransformer)):
        raise TypeError(f"not a Pipeline starting with a ColumnTransformer: {type(model)}")
    encode = model[0]
    rest = model[1:] if len(model) > 2 else model[-1]  # the estimator itself, if it is all
    dtypes = {f.name: object if f.is_categorical else float for f in contract.features}
    parts = []
    for _, transformer, columns in encode.transformers_:
        if transformer == "drop":
            continue
        names = list(encode.feature_names_in_[columns] if _are_indices(columns) else columns)
        kind = object if any(dtypes[name] is object for name in names) else float
        parts.append((_without_feature_names(transformer), names, kind))

    def predict(rows: Rows) -> np.ndarray:
        blocks = []
        for transformer, names, kind in parts:
            block = np.array([[row[name] for name in names] for row in rows], dtype=kind)
            blocks.append(block if transformer == "passthrough" else transformer.transform(block))
        return rest.predict(np.hstack(blocks))

    return predict


def _are_indices(columns: Any) -> bool:
    return len(columns) > 0 and not isinstance(columns[0], str)


def _without_feature_names(transformer: Any) -> Any:
    """A copy that takes plain arrays without warning that they carry no column names."""
    if transformer == "passthrough":
        return transformer
    plain = copy.copy(transformer)
    if hasattr(plain, "feature_names_in_"):
        del plain.feature_names_in_
    return plain
