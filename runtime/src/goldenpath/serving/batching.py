"""Dynamic micro-batching: concurrent requests share one model call.

A single-row predict costs about as much as a few hundred rows predicted
together, so the orders of requests that arrive while the model is busy, or
within `max_wait_s` of the first one, are predicted in one call of at most
`max_batch` orders. The wait applies only under load (the last call had
company): a lone request is not held back for others that are not coming.
A row's prediction does not depend on its neighbours: batched answers equal
single ones (tests/test_batching.py checks it).

At most `max_queued` orders wait: a request that would exceed it is refused at
once (`Overloaded`), so overload becomes fast refusals, not growing latency.
A model whose call is slow runs in a thread of its own (`in_thread`), so the
event loop keeps answering health checks and reading requests meanwhile.
"""

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

Rows = Sequence[dict[str, Any]]
Waiting = list[tuple[Rows, asyncio.Future[list[float]]]]


class Overloaded(Exception):
    """Too many orders are waiting: the caller should come back shortly."""


class MicroBatcher:
    def __init__(
        self,
        predict: Callable[[Rows], Sequence[float]],
        max_batch: int,
        max_wait_s: float,
        max_queued: int,
        in_thread: bool = False,
        alone: tuple[type[Exception], ...] = (),
    ) -> None:
        self._predict = predict
        # Errors one request's rows cause (the feature code refuses its values): the others
        # batched with it are answered alone. Any other error fails the whole batch.
        self._alone = alone
        self._max_batch = max_batch
        self._max_wait_s = max_wait_s
        self._max_queued = max_queued
        self._thread = ThreadPoolExecutor(1, "model") if in_thread else None
        self._pending: Waiting = []
        self._pending_rows = 0
        self._has_work = asyncio.Event()
        self._is_full = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._last_batch_requests = 0

    @property
    def overloaded(self) -> bool:
        """No order could be queued now: a request can be refused before it is even read."""
        return self._pending_rows >= self._max_queued

    async def predict(self, rows: Rows) -> list[float]:
        """Predictions for `rows`, computed in a batch with other callers' rows."""
        if self._pending_rows + len(rows) > self._max_queued:
            raise Overloaded(f"{self._pending_rows} orders are waiting already")
        if self._worker is None:
            self._worker = asyncio.create_task(self._serve_forever())
        future = asyncio.get_running_loop().create_future()
        self._pending.append((rows, future))
        self._pending_rows += len(rows)
        self._has_work.set()
        if self._pending_rows >= self._max_batch:
            self._is_full.set()
        return await future

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        for _, future in self._pending:
            future.cancel()
        if self._thread is not None:
            self._thread.shutdown()

    async def _serve_forever(self) -> None:
        while True:
            await self._has_work.wait()
            under_load = self._last_batch_requests > 1
            if under_load and self._max_wait_s > 0 and not self._is_full.is_set():
                with contextlib.suppress(TimeoutError):  # waited long enough: go
                    await asyncio.wait_for(self._is_full.wait(), self._max_wait_s)
            await self._run_batch(self._take_batch())

    def _take_batch(self) -> Waiting:
        """The oldest requests up to max_batch rows (always at least one request)."""
        taken, rows = 0, 0
        for request_rows, _ in self._pending:
            if taken and rows + len(request_rows) > self._max_batch:
                break
            taken, rows = taken + 1, rows + len(request_rows)
        batch, self._pending = self._pending[:taken], self._pending[taken:]
        self._last_batch_requests = taken
        self._pending_rows -= rows
        if not self._pending:
            self._has_work.clear()
        if self._pending_rows < self._max_batch:
            self._is_full.clear()
        return batch

    async def _run_batch(self, batch: Waiting) -> None:
        rows = [row for request_rows, _ in batch for row in request_rows]
        try:
            predictions = await self._predicted(rows)
        except Exception as error:
            if len(batch) == 1 or not isinstance(error, self._alone):
                for _, future in batch:
                    _settle(future, error=error)
                return
            for request_rows, future in batch:
                try:
                    _settle(future, list(await self._predicted(request_rows)))
                except Exception as own_error:
                    _settle(future, error=own_error)
            return
        start = 0
        for request_rows, future in batch:
            _settle(future, list(predictions[start : start + len(request_rows)]))
            start += len(request_rows)

    async def _predicted(self, rows: Rows) -> Any:
        if self._thread is None:
            # A fast model predicts on the event loop's thread: less than a
            # hand-over to another thread costs in GIL waits.
            return self._predict(rows)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._predict, rows)


def _settle(future: asyncio.Future, result: Any = None, error: Exception | None = None) -> None:
    """Answer a caller, unless it gave up (its client gone)."""
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
