"""The prediction log's writer: every prediction recorded, off the service's hot path.

`record()` only appends to a bounded buffer: it never blocks and never raises. A
background thread takes what has gathered every `interval_s`, or as soon as a batch
is full, hands it to `observe` (the Prometheus metrics, metrics.py) and writes it to
the store (store.py). A full buffer drops new records and counts them; a failing
store counts the records it lost and says why in the service's log (once a minute at
most). `close()` writes what is left: the service calls it when it stops gracefully.
"""

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter

from .store import Entry, Store

WRITTEN = Counter("prediction_log_written_total", "Predictions written to the prediction log")
DROPPED = Counter("prediction_log_dropped_total", "Predictions not logged: the buffer was full")
FAILED = Counter("prediction_log_failed_total", "Predictions not logged: the store failed")
COMPLAIN_EVERY_S = 60

log = logging.getLogger(__name__)


class PredictionLog:
    def __init__(
        self,
        store: Store | None,
        observe: Callable[[Sequence[Entry]], None] = lambda entries: None,
        capacity: int = 100_000,  # predictions waiting at most; beyond, new ones are dropped
        batch: int = 5_000,  # predictions that wake the writer before its interval is up
        interval_s: float = 1.0,
    ) -> None:
        self.store = store
        self.observe = observe
        self.capacity = capacity
        self.batch = batch
        self.interval_s = interval_s
        self._pending: list[Entry] = []
        self._queued = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._complained = -COMPLAIN_EVERY_S
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._thread.start()

    def record(
        self,
        rows: Sequence[dict[str, Any]],
        answers: Sequence[tuple[float, str]],
        probabilities: Sequence[Sequence[float]] | None = None,
    ) -> None:
        """Queue one request's rows and answers, (prediction, "model/version") each, and a
        multiclass model's `probabilities`; drop them (counted) if the buffer is full."""
        count = len(rows)
        with self._lock:
            if self._stopping or self._queued + count > self.capacity:
                DROPPED.inc(count)
                return
            self._pending.append(Entry(datetime.now(UTC), rows, answers, probabilities))
            self._queued += count
            full = self._queued >= self.batch
        if full:
            self._wake.set()

    def close(self, timeout_s: float = 30) -> None:
        """Write what is queued, then stop the writer."""
        with self._lock:
            self._stopping = True
        self._wake.set()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(self.interval_s)
            self._wake.clear()
            self._flush()
        self._flush()  # what came in while the last batch was written

    def _flush(self) -> None:
        with self._lock:
            entries, count = self._pending, self._queued
            self._pending, self._queued = [], 0
        if not entries:
            return
        try:
            self.observe(entries)
        except Exception:
            log.exception("prediction metrics failed")
        if self.store is None:
            return
        try:
            self.store.write(entries)
        except Exception as error:
            FAILED.inc(count)
            if time.monotonic() - self._complained >= COMPLAIN_EVERY_S:
                self._complained = time.monotonic()
                log.warning("prediction log: %d predictions lost: %s", count, error)
        else:
            WRITTEN.inc(count)
