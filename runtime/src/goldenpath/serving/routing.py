"""One service, many models: each order to its segment's model, the others to the global one.

A batch is split by the use case's segment feature (the city): each segment that
has a model of its own (it beat the global champion on its rows) gets one call of
that model; every other order goes to the global model in one call. Each answer
(a prediction, or a classifier's probabilities, rounded to `digits`) says which
model predicted it, and a segment without a model of its own is counted.
"""

from collections.abc import Sequence
from typing import Any

from prometheus_client import Counter

from .batching import Rows
from .predictor import Predictor

FALLBACKS = Counter(
    "segment_fallback_orders_total",
    "Orders of a segment without a model of its own, predicted by the global model",
    ["segment"],
)
GLOBAL = object()  # the group key of the global model's orders


class Router:
    def __init__(
        self,
        segment: str,
        main: tuple[Predictor, str],
        own: dict[str, tuple[Predictor, str]],
        digits: int = 2,
    ) -> None:
        self.segment, self.main, self.own, self.digits = segment, main, own, digits

    def __call__(self, rows: Rows) -> list[tuple[Any, str]]:
        """(answer, model label) for every row, in order: the answer a prediction, or a
        list of probabilities (Task.outputs)."""
        if not self.own:  # one model for every row
            predictor, label = self.main
            answers = predictor.predict(rows).round(self.digits).tolist()
            return [(value, label) for value in answers]
        groups: dict[object, list[int]] = {}
        for index, row in enumerate(rows):
            value = row[self.segment]
            groups.setdefault(value if value in self.own else GLOBAL, []).append(index)
        answers: list[tuple[Any, str]] = [(0.0, "")] * len(rows)
        for key, indices in groups.items():
            predictor, label = self.own[key] if key is not GLOBAL else self.main
            if key is GLOBAL:
                for index in indices:
                    FALLBACKS.labels(rows[index][self.segment]).inc()
            part = predictor.predict(_pick(rows, indices)).round(self.digits).tolist()
            for index, value in zip(indices, part, strict=True):
                answers[index] = (value, label)
        return answers


def _pick(rows: Rows, indices: Sequence[int]) -> Rows:
    return [rows[index] for index in indices]
