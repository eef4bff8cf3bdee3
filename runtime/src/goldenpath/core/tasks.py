"""What a model predicts and how it is scored: a regression, or a binary or multiclass
classification (the contract's `task`).

Per task: how the estimator is wrapped, what the model's scores are (a number, or one
probability per class in the contract's order of categories), the holdout metrics, a
baseline to beat (the training mean, or the classes' training frequencies) and the
promotion gate's default metric. Every stage scores a model through its task, so
training, evaluation and the gate cannot disagree on what "better" means.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn import metrics as sk

from .problems import Problem

TaskName = Literal["regression", "binary", "multiclass"]
TASKS: tuple[TaskName, ...] = ("regression", "binary", "multiclass")


class TaskMismatch(Problem):
    """The configuration asks for what the use case's task cannot take (a regressor for a
    classification, a log target for a class)."""


@dataclass(frozen=True)
class Metric:
    """A holdout figure: `compute(actual, scores, task)`, and which way is better."""

    compute: Callable[[pd.Series, np.ndarray, "Task"], float]
    higher_is_better: bool

    def better(self, new: float, old: float, margin: float = 0.0) -> bool:
        """`new` beats `old` by at least `margin`, a fraction of `old`'s size."""
        if self.higher_is_better:
            return new > old + abs(old) * margin
        return new < old - abs(old) * margin


def _positive(task: "Task", actual: pd.Series) -> np.ndarray:
    return (np.asarray(actual) == task.classes[-1]).astype(int)


def _log_loss(actual: pd.Series, scores: np.ndarray, task: "Task") -> float:
    order = np.argsort(task.classes)  # scikit-learn takes the columns in sorted label order
    probabilities = task.probabilities(scores)[:, order]
    return float(sk.log_loss(actual, probabilities, labels=list(np.asarray(task.classes)[order])))


def _at_threshold(score: Callable) -> Callable:
    def compute(actual: pd.Series, scores: np.ndarray, task: "Task") -> float:
        return float(score(_positive(task, actual), _positive(task, task.decide(scores))))

    return compute


def _ranking(score: Callable) -> Callable:
    def compute(actual: pd.Series, scores: np.ndarray, task: "Task") -> float:
        positive = _positive(task, actual)
        if positive.min() == positive.max():  # one class only: no ranking to score
            return float("nan")
        return float(score(positive, scores))

    return compute


METRICS: dict[str, Metric] = {
    "mae": Metric(lambda a, s, t: float(sk.mean_absolute_error(a, s)), False),
    "rmse": Metric(lambda a, s, t: float(np.sqrt(sk.mean_squared_error(a, s))), False),
    "r2": Metric(lambda a, s, t: float(sk.r2_score(a, s)), True),
    "log_loss": Metric(_log_loss, False),
    "roc_auc": Metric(_ranking(sk.roc_auc_score), True),
    "pr_auc": Metric(_ranking(sk.average_precision_score), True),
    "brier": Metric(lambda a, s, t: float(sk.brier_score_loss(_positive(t, a), s)), False),
    "precision": Metric(_at_threshold(partial(sk.precision_score, zero_division=0)), True),
    "recall": Metric(_at_threshold(partial(sk.recall_score, zero_division=0)), True),
    "f1": Metric(_at_threshold(partial(sk.f1_score, zero_division=0)), True),
    "accuracy": Metric(lambda a, s, t: float(sk.accuracy_score(a, t.decide(s))), True),
    "macro_f1": Metric(
        lambda a, s, t: float(
            sk.f1_score(a, t.decide(s), labels=list(t.classes), average="macro", zero_division=0)
        ),
        True,
    ),
}

# How reports name each metric.
LABELS = {
    "mae": "MAE", "rmse": "RMSE", "r2": "R²", "log_loss": "log-loss", "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC", "brier": "Brier score", "precision": "precision", "recall": "recall",
    "f1": "F1", "accuracy": "accuracy", "macro_f1": "macro-F1",
}  # fmt: skip


@dataclass(frozen=True)
class Task:
    """A task, with the target's classes (classification) and the decision threshold (binary).

    Scores: a regression's predictions; a binary model's probability of the positive
    class (the last of the target's categories); a multiclass model's probabilities,
    one column per category, in the contract's order.
    """

    name: TaskName
    classes: tuple[str, ...] = ()
    threshold: float = 0.5

    @property
    def is_classification(self) -> bool:
        return self.name != "regression"

    @property
    def metric_names(self) -> tuple[str, ...]:
        return {
            "regression": ("mae", "rmse", "r2"),
            "binary": ("log_loss", "roc_auc", "pr_auc", "brier", "precision", "recall", "f1"),
            "multiclass": ("log_loss", "macro_f1", "accuracy"),
        }[self.name]

    @property
    def digits(self) -> int:
        """The decimals of an answer (the service's, batch scoring's): a prediction's 2,
        a probability's 4."""
        return 4 if self.is_classification else 2

    @property
    def default_metric(self) -> str:
        """The promotion gate's metric unless conf/promotion/ names another."""
        return "mae" if self.name == "regression" else "log_loss"

    @property
    def loss(self) -> str:
        """The metric that is the mean of a loss per row, which live monitoring compares with
        the holdout's as outcomes arrive: MAE, or log-loss."""
        return "mae" if self.name == "regression" else "log_loss"

    def losses(self, actual: pd.Series, scores: np.ndarray) -> np.ndarray:
        """Each row's loss, whose mean is `loss`'s figure: the absolute error, or minus the log
        of the actual class's probability (clipped as scikit-learn clips it). NaN where the
        outcome is not known."""
        if not self.is_classification:
            return np.abs(np.asarray(actual, dtype=float) - scores)
        probabilities = self.probabilities(np.asarray(scores, dtype=float))
        known = pd.Series(actual).isin(self.classes).to_numpy()
        column = pd.Series(actual).map({c: i for i, c in enumerate(self.classes)})
        column = column.fillna(0).astype(int).to_numpy()
        chosen = probabilities[np.arange(len(probabilities)), column]
        eps = np.finfo(float).eps
        return np.where(known, -np.log(np.clip(chosen, eps, 1 - eps)), np.nan)

    def metrics(self, actual: pd.Series, scores: np.ndarray) -> dict[str, float]:
        return {name: METRICS[name].compute(actual, scores, self) for name in self.metric_names}

    def metric(self, name: str, actual: pd.Series, scores: np.ndarray) -> float:
        return METRICS[name].compute(actual, scores, self)

    def scores(self, model: Any, features: pd.DataFrame) -> np.ndarray:
        """The model's scores for `features` (see the class's docstring)."""
        if not self.is_classification:
            return np.asarray(model.predict(features), dtype=float)
        ordered = self.ordered(model.predict_proba(features), model.classes_)
        return ordered[:, -1] if self.name == "binary" else ordered

    def headline(self, scores: np.ndarray) -> np.ndarray:
        """`scores` as one number a row, which the log, the live metrics and the baseline
        watch: a regression's prediction, a binary classifier's probability of the positive
        class, a multiclass one's of its most likely class."""
        return scores.max(axis=1) if self.name == "multiclass" else scores

    def ordered(self, probabilities: np.ndarray, learnt: Any) -> np.ndarray:
        """A classifier's probabilities, its columns in `learnt`'s order (its `classes_`),
        as one column per class in the contract's order."""
        # A class the training rows lacked has no column: its probability is 0.
        ordered = np.zeros((len(probabilities), len(self.classes)))
        for column, value in enumerate(learnt):
            ordered[:, self.classes.index(str(value))] = probabilities[:, column]
        return ordered

    def outputs(self, model: Any, features: pd.DataFrame) -> np.ndarray:
        """What the service answers from: a regression's predictions; a classifier's
        probabilities, one column per class in the contract's order."""
        return self.probabilities(self.scores(model, features))

    def probabilities(self, scores: np.ndarray) -> np.ndarray:
        """One column per class, in the contract's order (a regression's scores as they are)."""
        if self.name == "binary":
            return np.column_stack([1 - scores, scores])
        return scores

    def decide(self, scores: np.ndarray) -> np.ndarray:
        """The predicted class of each row (binary: the positive one at `threshold` or above)."""
        classes = np.asarray(self.classes, dtype=object)
        if self.name == "binary":
            return classes[(scores >= self.threshold).astype(int)]
        return classes[np.argmax(scores, axis=1)]

    def classes_of(self, probabilities: np.ndarray) -> np.ndarray:
        """The predicted class of each row of `probabilities` (one column per class)."""
        return self.decide(probabilities[:, -1] if self.name == "binary" else probabilities)

    def baseline(self, train_target: pd.Series, rows: int) -> np.ndarray:
        """The scores of a model that learnt nothing: the mean, or the classes' frequencies."""
        if not self.is_classification:
            return np.full(rows, float(train_target.mean()))
        values = train_target.astype(str).value_counts(normalize=True)
        prior = np.array([values.get(value, 0.0) for value in self.classes])
        if self.name == "binary":
            return np.full(rows, prior[-1])
        return np.tile(prior, (rows, 1))

    def wrap(self, estimator: Any, log_target: bool, model_name: str) -> Any:
        """The estimator, fitting log(target) if asked; refused if it does not fit the task."""
        from sklearn.base import is_classifier

        kind = "a classifier" if self.is_classification else "a regressor"
        # A regression takes any estimator that is not a classifier (a team's own, a library
        # without scikit-learn's tags); a classifier must give probabilities.
        try:
            tagged = is_classifier(estimator)
        except AttributeError:  # scikit-learn 1.7 asks for its tags
            tagged = False
        classifies = tagged or hasattr(estimator, "predict_proba")
        if classifies != self.is_classification:
            raise TaskMismatch(
                f"model._target_ {model_name!r} is not {kind}, and the use case is a"
                f" {self.name} task (usecase.py): choose {kind}'s config in conf/model/"
            )
        if not log_target:
            return estimator
        if self.is_classification:
            raise TaskMismatch(
                f"train.log_target is true, and the use case is a {self.name} task: a log"
                " target is for a regression; set it false in conf/train/"
            )
        from sklearn.compose import TransformedTargetRegressor

        return TransformedTargetRegressor(estimator, func=np.log, inverse_func=np.exp)


def task_of(contract: Any, threshold: float = 0.5) -> Task:
    """The contract's task, its classes being the target's categories."""
    return Task(contract.task, tuple(contract.target.categories), threshold)


def gate_metric(task: Task, configured: str | None) -> str:
    """The metric the promotion gate compares: `promotion.metric`, or the task's default."""
    metric = configured or task.default_metric
    if metric not in task.metric_names:
        raise TaskMismatch(
            f"promotion.metric: {metric!r} is not a {task.name} metric; give one of"
            f" {list(task.metric_names)} in conf/promotion/, or null for {task.default_metric!r}"
        )
    return metric
