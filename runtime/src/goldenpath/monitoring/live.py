"""What the prediction service calls: every prediction logged and counted, never in its way.

    monitor = PredictionMonitor.start(USE_CASE, served_set)  # when the models are loaded
    monitor.record(rows, answers)                            # after each prediction
    monitor.close()                                          # when the service stops

PREDICTION_LOG says where the log goes (store.py; `off`: metrics only).
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
    def __init__(self, log: PredictionLog) -> None:
        self.log = log

    @classmethod
    def start(cls, use_case: UseCase, served: ServedSet) -> "PredictionMonitor":
        """For the served models; the global one's metadata holds the training profile."""
        profile = model_io.metadata(served.main.uri).get(PROFILE, {})
        records = [served.main.record, *(own.record for own in served.own.values())]
        metrics = PredictionMetrics(use_case, records, profile)
        return cls(PredictionLog(open_store(use_case.contract), metrics.observe))

    def record(self, rows: Sequence[dict[str, Any]], answers: Sequence[tuple[float, str]]) -> None:
        """`answers`: (prediction, "model name/version") for each row, in order."""
        self.log.record(rows, answers)

    def close(self) -> None:
        self.log.close()
