"""Group commit: many callers, one transaction, every caller acknowledged after commit.

A caller hands in a unit of work and waits on its future; a single writer thread takes
whatever has queued up, runs it all in one transaction and resolves the futures only after
the commit, each with what the batch writer returned for its item. So an acknowledged write
is durable, and under load the cost of a commit is shared by everyone waiting on it (the
way databases batch their own log flushes).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")
log = logging.getLogger(__name__)

_STOP = object()


class GroupCommitter(Generic[T, R]):
    """Runs ``write_batch(items)`` on one thread for batches of queued items; it returns
    one result per item, in order, and each item's future resolves with its result."""

    def __init__(
        self, write_batch: Callable[[Sequence[T]], Sequence[R]], *, max_batch: int = 2000
    ) -> None:
        self._write_batch = write_batch
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[T, Future[R]] | object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="qfzz-group-commit", daemon=True
                )
                self._thread.start()

    def stop(self) -> None:
        """Write everything already submitted, then stop the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_STOP)
            thread.join()

    def submit(self, item: T) -> Future[R]:
        future: Future[R] = Future()
        if self._thread is None:
            raise RuntimeError("group committer is not running")
        self._queue.put((item, future))
        return future

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stopping = True
                    break
                batch.append(nxt)
            self._flush(batch)  # type: ignore[arg-type]

    def _flush(self, batch: list[tuple[T, Future[R]]]) -> None:
        try:
            results = self._write_batch([item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"{len(results)} results for {len(batch)} items")
        except BaseException as exc:  # every waiter must hear about the failure
            log.exception("group commit of %d items failed", len(batch))
            for _, future in batch:
                if future.set_running_or_notify_cancel():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            # False when its caller gave up waiting (cancelled): the write stands anyway.
            if future.set_running_or_notify_cancel():
                future.set_result(result)
