"""Prometheus metrics of the predictions themselves (the service counts requests and latency).

- `prediction` (histogram): the predicted target, by segment (the use case's, e.g. city)
  and model version;
- `predicted_orders_total`: orders predicted, by model name and version;
- `prediction_input_out_of_range_total`: inputs outside what the model saw in training,
  by feature: a number beyond the training range, a category never seen (the training
  profile in the model's metadata, core/reference.py);
- `prediction_baseline_mean` and `_std`: the model's holdout predictions, recorded at
  promotion; the alert on a shifted mean prediction compares with them.

The names do not depend on the use case, so compose/'s alerting rules fit any project.
They are updated by the prediction log's writer thread (log.py), off the hot path.
"""

import math
from collections.abc import Sequence
from functools import cache
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from ..core.contract import UseCase
from ..core.registry import ChampionRecord
from .store import Entry

ORDERS = Counter("predicted_orders", "Orders predicted, by model", ["model_name", "model_version"])
OUT_OF_RANGE = Counter(
    "prediction_input_out_of_range", "Inputs outside what training saw, by feature", ["feature"]
)
BASELINE_MEAN = Gauge(
    "prediction_baseline_mean", "Mean holdout prediction at promotion", ["model_version"]
)
BASELINE_STD = Gauge(
    "prediction_baseline_std", "Spread of the holdout predictions at promotion", ["model_version"]
)


def buckets(low: float, high: float) -> tuple[float, ...]:
    """1, 1.5, 2, 3, 5, 7 times powers of ten, from below `low` to above `high`."""
    steps = (1, 1.5, 2, 3, 5, 7)
    start, end = math.floor(math.log10(max(low, 1e-3))), math.ceil(math.log10(max(high, 1e-3)))
    edges = [step * 10**power for power in range(start, end + 1) for step in steps]
    inside = [edge for edge in edges if low < edge < high]
    return (
        *[edge for edge in edges if edge <= low][-1:],
        *inside,
        *[e for e in edges if e >= high][:1],
    )


@cache
def _histogram(target: str, segment: str, edges: tuple[float, ...]) -> Histogram:
    description = f"Predicted {target}, by {segment} and model version"
    return Histogram("prediction", description, [segment, "model_version"], buckets=edges)


class PredictionMetrics:
    """Observes the predictions of the model `record` describes, with its training `profile`."""

    def __init__(self, use_case: UseCase, record: ChampionRecord, profile: dict[str, Any]):
        target = use_case.contract.target
        self.segment = use_case.segment
        self.histogram = _histogram(
            target.name, self.segment, buckets(target.minimum, target.maximum)
        )
        self.ranges = profile.get("ranges", {})
        self.categories = {name: set(seen) for name, seen in profile.get("categories", {}).items()}
        self._children: dict[tuple[str, str], Any] = {}
        version = record.model_version
        if record.baseline:
            BASELINE_MEAN.labels(version).set(record.baseline["prediction_mean"])
            BASELINE_STD.labels(version).set(record.baseline["prediction_std"])

    def observe(self, entries: Sequence[Entry]) -> None:
        outside = dict.fromkeys([*self.ranges, *self.categories], 0)
        for entry in entries:
            ORDERS.labels(entry.model_name, entry.model_version).inc(len(entry.rows))
            for row, predicted in zip(entry.rows, entry.predictions, strict=True):
                self._child(str(row[self.segment]), entry.model_version).observe(predicted)
                for name, (low, high) in self.ranges.items():
                    outside[name] += not low <= row[name] <= high
                for name, seen in self.categories.items():
                    outside[name] += row[name] not in seen
        for name, count in outside.items():
            if count:
                OUT_OF_RANGE.labels(name).inc(count)

    def _child(self, segment: str, version: str):
        if (child := self._children.get((segment, version))) is None:
            child = self._children[segment, version] = self.histogram.labels(segment, version)
        return child
