"""What the prediction service calls: every prediction logged and counted, never in its way.

    monitor = PredictionMonitor.start(USE_CASE, served_model)  # when the model is loaded
    monitor.record(rows, predictions)                          # after each prediction
    monitor.close()                                            # when the service stops

PREDICTION_LOG says where the log goes (store.py; `off`: metrics only).
"""

from collections.abc import Sequence
from typing import Any

from ..core import model_io
from ..core.contract import UseCase
from ..core.reference import PROFILE
from ..core.registry import ChampionRecord
from .log import PredictionLog
from .metrics import PredictionMetrics
from .store import open_store


class PredictionMonitor:
    def __init__(self, log: PredictionLog, record: ChampionRecord) -> None:
        self.log = log
        self.model_name = record.model_name
        self.model_version = record.model_version

    @classmethod
    def start(cls, use_case: UseCase, record: ChampionRecord, uri: str) -> "PredictionMonitor":
        """For the model at `uri` that `record` describes (its metadata: the training profile)."""
        profile = model_io.metadata(uri).get(PROFILE, {})
        metrics = PredictionMetrics(use_case, record, profile)
        return cls(PredictionLog(open_store(use_case.contract), metrics.observe), record)

    def record(self, rows: Sequence[dict[str, Any]], predictions: Sequence[float]) -> None:
        self.log.record(self.model_name, self.model_version, rows, predictions)

    def close(self) -> None:
        self.log.close()
