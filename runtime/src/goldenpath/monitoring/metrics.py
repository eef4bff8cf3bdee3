"""Prometheus metrics of the predictions themselves (the service counts requests and latency).

- `prediction` (histogram): the predicted target (a binary classifier's: the positive
  class's probability), by segment (the use case's, e.g. city)
  and model (a segment may have a model of its own, serving/routing.py);
- `predicted_orders_total`: orders predicted, by model name and version;
- `prediction_input_out_of_range_total`: inputs outside what the model saw in training,
  by feature: a number beyond the training range, a category never seen (the training
  profile in the model's metadata, core/reference.py);
- `prediction_baseline_mean` and `_std`: each served model's holdout predictions,
  recorded at promotion; the alert on a shifted mean prediction compares with them.

The names do not depend on the use case, so compose/'s alerting rules fit any project.
They are updated by the prediction log's writer thread (log.py), off the hot path.
"""

import math
from collections.abc import Sequence
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram

from ..core.champion import ChampionRecord
from ..core.contract import UseCase
from .store import Entry

ORDERS = Counter("predicted_orders", "Orders predicted, by model", ["model_name", "model_version"])
OUT_OF_RANGE = Counter(
    "prediction_input_out_of_range", "Inputs outside what training saw, by feature", ["feature"]
)
MODEL = ["model_name", "model_version"]
BASELINE_MEAN = Gauge("prediction_baseline_mean", "Mean holdout prediction at promotion", MODEL)
PROBABILITY = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0)  # a classifier's
BASELINE_STD = Gauge("prediction_baseline_std", "Spread of holdout predictions at promotion", MODEL)


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


_made: dict[tuple, Histogram] = {}


def _histogram(target: str, segment: str, edges: tuple[float, ...]) -> Histogram:
    """The one `prediction` histogram: a process that serves another use case (the tests)
    replaces it, since Prometheus names a metric once."""
    key = (target, segment, edges)
    if key not in _made:
        for made in _made.values():
            REGISTRY.unregister(made)
        _made.clear()
        description = f"Predicted {target}, by {segment} and model"
        _made[key] = Histogram("prediction", description, [segment, *MODEL], buckets=edges)
    return _made[key]


class PredictionMetrics:
    """Observes the predictions of the served models `records` describe; `profile`: the
    global model's training profile (every segment's rows)."""

    def __init__(
        self, use_case: UseCase, records: Sequence[ChampionRecord], profile: dict[str, Any]
    ) -> None:
        target = use_case.contract.target
        self.segment = use_case.segment
        if use_case.contract.task == "binary":  # its probability of the positive class
            name, edges = f"{target.name}={target.categories[-1]} probability", PROBABILITY
        elif use_case.contract.task == "multiclass":  # that of the class it predicts
            name, edges = f"{target.name} probability of the predicted class", PROBABILITY
        else:
            name, edges = target.name, buckets(target.minimum, target.maximum)
        self.histogram = _histogram(name, self.segment, edges)
        self.ranges = profile.get("ranges", {})
        self.categories = {name: set(seen) for name, seen in profile.get("categories", {}).items()}
        self._children: dict[tuple[str, str], Any] = {}
        for record in records:
            model = (record.model_name, record.model_version)
            if record.baseline:
                BASELINE_MEAN.labels(*model).set(record.baseline["prediction_mean"])
                BASELINE_STD.labels(*model).set(record.baseline["prediction_std"])

    def observe(self, entries: Sequence[Entry]) -> None:
        outside = dict.fromkeys([*self.ranges, *self.categories], 0)
        orders: dict[str, int] = {}
        for entry in entries:
            for row, (predicted, model) in zip(entry.rows, entry.answers, strict=True):
                orders[model] = orders.get(model, 0) + 1
                self._child(str(row[self.segment]), model).observe(predicted)
                for name, (low, high) in self.ranges.items():  # a missing value is neither
                    outside[name] += row[name] is not None and not low <= row[name] <= high
                for name, seen in self.categories.items():  # the profile's are text
                    outside[name] += row[name] is not None and str(row[name]) not in seen
        for model, count in orders.items():
            ORDERS.labels(*model.rsplit("/", 1)).inc(count)
        for name, count in outside.items():
            if count:
                OUT_OF_RANGE.labels(name).inc(count)

    def _child(self, segment: str, model: str):
        """The histogram's series for `segment` and `model` ("name/version"), kept at hand."""
        if (child := self._children.get((segment, model))) is None:
            labels = (segment, *model.rsplit("/", 1))
            child = self._children[segment, model] = self.histogram.labels(*labels)
        return child
