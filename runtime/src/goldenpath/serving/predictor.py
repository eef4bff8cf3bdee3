"""The served pipeline's predict, without scikit-learn's per-call DataFrame overhead.

On a DataFrame, Pipeline.predict spends most of a small batch's time selecting
and checking columns (about 6 ms of 9 per call here), and each encoder half a
millisecond more checking its input. Serving instead gives each fitted encoder
of the ColumnTransformer its columns as one plain array (a StandardScaler, a
passthrough and a plain OneHotEncoder apply their fitted values directly), then runs the
remaining steps; a tree ensemble's own steps are compiled (compiled.py).
What a predict gives is the task's (core/tasks.py): a regression's predictions,
a classifier's probabilities, one column per class in the contract's order.
`lean_predictor` first checks on rows spread over the contract's ranges and
categories that this gives what the pipeline gives (within TOLERANCE: a model
that sums in parallel differs in the last bits): compiled trees if they
pass, else the estimator's own predict, else the pipeline; the Predictor says
which, and why (the service's start-up log and /version show it).
"""

import copy
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from ..core.contract import Contract
from ..core.derived import DeriveFeatures
from ..core.tasks import Task, task_of
from .batching import Rows
from .compiled import NotCompiled, compile_trees, kind_of

Predict = Callable[[Rows], np.ndarray]
TOLERANCE = 1e-6  # of a prediction or probability: far below what anyone reads, above noise
CHECK_ROWS = 256  # the rows a fast path must predict as the pipeline does


@dataclass(frozen=True)
class Predictor:
    predict: Predict
    lean: bool  # False: through the pipeline's own predict
    compiled: bool = False  # the trees run compiled (compiled.py)
    reason: str = ""  # why this path: what it is checked against, why a faster one is not taken

    @property
    def how(self) -> str:
        return "compiled" if self.compiled else "lean" if self.lean else "pipeline"

    def describe(self) -> dict[str, str]:
        """What /version says about it: the prediction path, and why."""
        return {"prediction_path": self.how, "prediction_path_reason": self.reason}

    def call_seconds(self, contract: Contract, orders: int) -> float:
        """The time of one call on `orders` rows: the best of three, so noise does not count."""
        rows = contract.served(contract.samples(orders))
        times = []
        for _ in range(3):
            start = time.perf_counter()
            self.predict(rows)
            times.append(time.perf_counter() - start)
        return min(times)


def lean_predictor(model: Any, contract: Contract) -> Predictor:
    """A predict over plain rows equal to the task's outputs of `model` on them
    (`Task.outputs`: predictions, or probabilities in the contract's order of classes).

    The fastest path that predicts what the pipeline predicts on CHECK_ROWS rows spread
    over the contract: compiled trees, else the estimator's own predict on the encoded
    rows (lean), else the pipeline. Its `reason` says why, naming why faster ones failed.
    """

    task = task_of(contract)

    def through_pipeline(rows: Rows) -> np.ndarray:
        return np.asarray(task.outputs(model, contract.frame(rows)), dtype=np.float64)

    rows = contract.served(contract.samples(CHECK_ROWS))  # as the service hands them over
    expected = through_pipeline(rows)
    if not (isinstance(model, Pipeline) and isinstance(_steps(model)[0], ColumnTransformer)):
        reason = f"the model's own predict: {kind_of(model)} is not a Pipeline that starts with "
        return Predictor(through_pipeline, lean=False, reason=reason + "the contract's encoding")
    not_taken = []
    for trees_compiled in (True, False):
        path = "compiled" if trees_compiled else "lean"
        try:
            lean, estimator = _compile(model, contract, task, trees_compiled)
            gap = float(np.max(np.abs(lean(rows) - expected)))
        except NotCompiled as why:
            not_taken.append(f"not compiled: {why}")
            continue
        except (TypeError, ValueError, KeyError, IndexError, AttributeError, RuntimeError,
                ImportError) as error:  # fmt: skip
            not_taken.append(f"the {path} path failed: {type(error).__name__}: {error}")
            continue
        if gap <= TOLERANCE:
            checked = f"equal to the pipeline's predictions on {CHECK_ROWS} sample rows"
            if trees_compiled:
                own = f"{_named(estimator)}'s trees run compiled (treelite)"
            else:
                own = f"{_named(estimator)}'s own predict on the encoded rows"
            reason = _and(f"{own}, {checked}", not_taken)
            return Predictor(lean, lean=True, compiled=trees_compiled, reason=reason)
        not_taken.append(
            f"the {path} path's predictions differ from the pipeline's by up to {gap:.3g}, "
            f"more than {TOLERANCE:g}"
        )
    reason = _and("the pipeline's own predict", not_taken)
    return Predictor(through_pipeline, lean=False, reason=reason)


def _steps(model: Pipeline) -> Pipeline:
    """The model's steps from its encoding: after the derived features', if it has them."""
    return model[1:] if isinstance(model[0], DeriveFeatures) and len(model) > 1 else model


def _named(estimator: Any) -> str:
    if type(estimator).__name__ == "TransformedTargetRegressor":  # fitted on log(target)
        return f"{kind_of(estimator.regressor_)} (on a transformed target)"
    return kind_of(estimator)


def _and(reason: str, not_taken: list[str]) -> str:
    return "; ".join((reason, *not_taken))


def _compile(
    model: Any, contract: Contract, task: Task, trees_compiled: bool
) -> tuple[Predict, Any]:
    """The lean predict, with its trees compiled if `trees_compiled`; and its estimator.

    NotCompiled when the trees cannot be compiled. `model`: a Pipeline that starts with
    a ColumnTransformer, or with the derived features, then one: they are computed as the
    pipeline computes them (DeriveFeatures), on the rows as a table.
    """
    derive = model[0] if isinstance(model[0], DeriveFeatures) else None
    steps = _steps(model)
    encode = steps[0]
    rest = steps[1:] if len(steps) > 2 else steps[-1]  # the estimator itself, if it is all
    if trees_compiled:
        estimate = compile_trees(rest)
    else:
        estimate = rest.predict_proba if task.is_classification else rest.predict
    if task.is_classification:  # the estimator's columns, in the contract's order
        learnt, probabilities = rest.classes_, estimate
        estimate = lambda encoded: task.ordered(probabilities(encoded), learnt)  # noqa: E731
    dtypes = {  # a timestamp's datetimes as objects: its calendar parts read them
        f.name: object if f.is_categorical or f.is_timestamp else float for f in contract.inputs
    }
    parts = []
    for _, transformer, columns in encode.transformers_:
        if transformer == "drop" or len(columns) == 0:  # nothing fitted, nothing to give
            continue
        names = list(encode.feature_names_in_[columns] if _are_indices(columns) else columns)
        kind = object if any(dtypes[name] is object for name in names) else float
        parts.append((_plain_transform(transformer), names, kind))

    def predict(rows: Rows) -> np.ndarray:
        blocks = [
            transform(np.array([[row[name] for name in names] for row in rows], dtype=kind))
            for transform, names, kind in parts
        ]
        return np.asarray(estimate(np.hstack(blocks)), dtype=np.float64)  # XGBoost's: float32

    def predict_derived(rows: Rows) -> np.ndarray:
        table = derive.transform(contract.frame(rows))
        blocks = [transform(table[names].to_numpy(dtype=kind)) for transform, names, kind in parts]
        return np.asarray(estimate(np.hstack(blocks)), dtype=np.float64)

    return (predict_derived if derive is not None else predict), rest


def _are_indices(columns: Any) -> bool:
    return len(columns) > 0 and not isinstance(columns[0], str)


def _plain_transform(transformer: Any) -> Callable[[np.ndarray], np.ndarray]:
    """The fitted `transformer` as a function of a plain array."""
    # A fitted ColumnTransformer's "passthrough" is a FunctionTransformer without a function.
    passes = type(transformer) is FunctionTransformer and transformer.func is None
    if transformer == "passthrough" or passes:
        return lambda block: block
    if type(transformer) is Pipeline:  # an imputer, then a scaler: each in turn
        steps = [_plain_transform(step) for _, step in transformer.steps]
        return lambda block: functools.reduce(lambda done, step: step(done), steps, block)
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
