"""What the prediction service calls: every prediction logged and counted, never in its way.

    monitor = PredictionMonitor.start(USE_CASE, served_set)  # when the models are loaded
    monitor.record(rows, answers)                            # after each prediction
    monitor.close()                                          # when the service stops

PREDICTION_LOG says where the log goes (store.py; `off`: metrics only). A prediction
is logged as one number: a regression's, a binary classifier's probability of the
positive class, a multiclass one's probability of its most likely class (the one the
metrics observe), with every class's probability beside it.
"""

from collections.abc import Sequence
from typing import Any

from ..core import model_io
from ..core.contract import UseCase
from ..core.reference import PROFILE
from ..serving.model import ServedSet
from .log import PredictionLog
from .metrics import PredictionMetrics
from .store import open_store


class PredictionMonitor:
    def __init__(self, prediction_log: PredictionLog, task: str = "regression") -> None:
        self.log = prediction_log
        self.task = task

    @classmethod
    def start(cls, use_case: UseCase, served: ServedSet) -> "PredictionMonitor":
        """For the served models; the global one's metadata holds the training profile."""
        task = use_case.contract.task
        profile = model_io.metadata(served.main.uri).get(PROFILE, {})
        records = [served.main.record, *(own.record for own in served.own.values())]
        metrics = PredictionMetrics(use_case, records, profile)
        return cls(PredictionLog(open_store(use_case.contract), metrics.observe), task)

    def record(self, rows: Sequence[dict[str, Any]], answers: Sequence[tuple[Any, str]]) -> None:
        """`answers`: (answer, "model name/version") for each row, in order; an answer is a
        prediction, or a classifier's probabilities (in the contract's order of classes)."""
        if self.task == "binary":
            answers = [(probabilities[-1], model) for probabilities, model in answers]
        elif self.task == "multiclass":
            every = [probabilities for probabilities, _ in answers]
            answers = [(max(probabilities), model) for probabilities, model in answers]
            self.log.record(rows, answers, every)
            return
        self.log.record(rows, answers)

    def close(self) -> None:
        self.log.close()
