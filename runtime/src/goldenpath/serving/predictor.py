"""The served pipeline's predict, without scikit-learn's per-call DataFrame overhead.

On a DataFrame, Pipeline.predict spends most of a small batch's time selecting
and checking columns (about 6 ms of 9 per call here), and each encoder half a
millisecond more checking its input. Serving instead gives each fitted encoder
of the ColumnTransformer its columns as one plain array (a StandardScaler and a
plain OneHotEncoder apply their fitted values directly), then runs the
remaining steps; a tree ensemble's own steps are compiled (compiled.py).
`lean_predictor` first checks on rows spread over the contract's ranges and
categories that this gives what the pipeline gives (within TOLERANCE minutes: a
model that sums in parallel differs in the last bits): compiled trees if they
pass, else the estimator's own predict, else the pipeline.
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
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ..core.contract import Contract
from .batching import Rows
from .compiled import compiled

Predict = Callable[[Rows], np.ndarray]
TOLERANCE = 1e-6  # of a prediction: far below what anyone reads, far above float noise
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Predictor:
    predict: Predict
    lean: bool  # False: through the pipeline's own predict
    compiled: bool = False  # the trees run compiled (compiled.py)

    @property
    def how(self) -> str:
        return "compiled" if self.compiled else "lean" if self.lean else "pipeline"

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

    rows = contract.samples(256)[contract.feature_names].to_dict(orient="records")
    expected = through_pipeline(rows)
    for trees_compiled in (True, False):
        try:
            lean = _compile(model, contract, trees_compiled)
            if lean is not None and np.allclose(lean(rows), expected, rtol=0, atol=TOLERANCE):
                return Predictor(lean, lean=True, compiled=trees_compiled)
        except (TypeError, ValueError, KeyError, IndexError, AttributeError, RuntimeError,
                ImportError) as error:  # fmt: skip
            log.warning("not the %s path: %s", "compiled" if trees_compiled else "lean", error)
    log.warning("lean predict differs from the pipeline's: serving through the pipeline")
    return Predictor(through_pipeline, lean=False)


def _compile(model: Any, contract: Contract, trees_compiled: bool) -> Predict | None:
    """The lean predict; with `trees_compiled`, its trees compiled (None if they cannot be)."""
    if not (isinstance(model, Pipeline) and isinstance(model[0], ColumnTransformer)):
        raise TypeError(f"not a Pipeline starting with a ColumnTransformer: {type(model)}")
    encode = model[0]
    rest = model[1:] if len(model) > 2 else model[-1]  # the estimator itself, if it is all
    estimate = compiled(rest) if trees_compiled else rest.predict
    if estimate is None:
        return None
    dtypes = {f.name: object if f.is_categorical else float for f in contract.features}
    parts = []
    for _, transformer, columns in encode.transformers_:
        if transformer == "drop":
            continue
        names = list(encode.feature_names_in_[columns] if _are_indices(columns) else columns)
        kind = object if any(dtypes[name] is object for name in names) else float
        parts.append((_plain_transform(transformer), names, kind))

    def predict(rows: Rows) -> np.ndarray:
        blocks = [
            transform(np.array([[row[name] for name in names] for row in rows], dtype=kind))
            for transform, names, kind in parts
        ]
        return estimate(np.hstack(blocks))

    return predict


def _are_indices(columns: Any) -> bool:
    return len(columns) > 0 and not isinstance(columns[0], str)


def _plain_transform(transformer: Any) -> Callable[[np.ndarray], np.ndarray]:
    """The fitted `transformer` as a function of a plain array."""
    if transformer == "passthrough":
        return lambda block: block
    if type(transformer) is StandardScaler:  # what its transform computes, minus the checks
        mean = 0.0 if transformer.mean_ is None else transformer.mean_
        scale = 1.0 if transformer.scale_ is None else transformer.scale_
        return lambda block: (block - mean) / scale
    plain_one_hot = (
        type(transformer) is OneHotEncoder
        and transformer.drop is None
        and not transformer.sparse_output
        and not getattr(transformer, "_infrequent_enabled", False)
    )
    if plain_one_hot:
        return _one_hot(transformer.categories_)
    plain = copy.copy(transformer)  # takes plain arrays without warning they have no names
    if hasattr(plain, "feature_names_in_"):
        del plain.feature_names_in_
    return plain.transform


def _one_hot(categories: list[np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """A OneHotEncoder's dense transform: a 1 in each column's block, where its value is.

    An unknown value raises KeyError (the request model lets none through).
    """
    positions = []
    start = 0
    for values in categories:
        positions.append({value: start + i for i, value in enumerate(values.tolist())})
        start += len(values)

    def encode(block: np.ndarray) -> np.ndarray:
        encoded = np.zeros((len(block), start))
        rows = np.arange(len(block))
        for column, position in enumerate(positions):
            encoded[rows, [position[value] for value in block[:, column]]] = 1.0
        return encoded

    return encode
