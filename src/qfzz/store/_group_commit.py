"""Group commit: many callers, one transaction, every caller acknowledged after commit.

A caller hands in a unit of work and waits on its future; a single writer thread takes
whatever has queued up, runs it all in one transaction and resolves the futures only after
the commit, each with what the batch writer returned for its item. So an acknowledged write
is durable, and under load the cost of a commit is shared by everyone waiting on it (the
way databases batch their own log flushes).

Callers on an event loop (``asubmit``) cost the loop as little as possible, because the
loop is what every other request waits on: their items join the same queue at once (so the
queue's order stays the order they were submitted in, whoever submitted them), but the
writer is woken once per turn of the loop rather than once per item — a turn's requests
then share one commit — and a batch's waiters on a loop are resolved by one call into that
loop, not one cross-thread wake-up each.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")
log = logging.getLogger(__name__)

#: Who waits for an item: a thread (a concurrent future) or a coroutine on a loop.
Waiter = Future[R] | tuple[asyncio.AbstractEventLoop, "asyncio.Future[R]"]


class GroupCommitter(Generic[T, R]):
    """Runs ``write_batch(items)`` on one thread for batches of queued items; it returns
    one result per item, in order, and each item's future resolves with its result."""

    def __init__(
        self, write_batch: Callable[[Sequence[T]], Sequence[R]], *, max_batch: int = 2000
    ) -> None:
        self._write_batch = write_batch
        self._max_batch = max_batch
        # deque.append and popleft are atomic: submitters never wait for the writer.
        self._items: deque[tuple[T, Waiter[R]]] = deque()
        self._ready = threading.Event()
        self._stopping = False
        #: Loops that have a wake-up of the writer scheduled for the end of their turn.
        self._waking: set[asyncio.AbstractEventLoop] = set()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._stopping = False
                self._thread = threading.Thread(
                    target=self._run, name="qfzz-group-commit", daemon=True
                )
                self._thread.start()

    def stop(self) -> None:
        """Write everything already submitted, then stop the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._stopping = True
            self._ready.set()
            thread.join()

    def submit(self, item: T) -> Future[R]:
        """Queue ``item`` for a thread that will wait on the returned future."""
        future: Future[R] = Future()
        if self._thread is None:
            raise RuntimeError("group committer is not running")
        self._items.append((item, future))
        self._ready.set()
        return future

    def asubmit(self, item: T) -> asyncio.Future[R]:
        """Queue ``item`` for a coroutine on the running loop (call it on that loop).

        The item is queued now; the writer is woken when the loop finishes its current
        turn, so the other requests handled in the same turn join the same commit.
        """
        loop = asyncio.get_running_loop()
        if self._thread is None:
            raise RuntimeError("group committer is not running")
        future: asyncio.Future[R] = loop.create_future()
        self._items.append((item, (loop, future)))
        if loop not in self._waking:
            self._waking.add(loop)
            loop.call_soon(self._wake, loop)
        return future

    def _wake(self, loop: asyncio.AbstractEventLoop) -> None:
        self._waking.discard(loop)
        self._ready.set()

    def _run(self) -> None:
        while True:
            self._ready.wait()
            self._ready.clear()  # anything queued after this sets it again
            while self._items:
                batch: list[tuple[T, Waiter[R]]] = []
                while self._items and len(batch) < self._max_batch:
                    batch.append(self._items.popleft())
                self._flush(batch)
            if self._stopping:
                return

    def _flush(self, batch: list[tuple[T, Waiter[R]]]) -> None:
        try:
            results = self._write_batch([item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"{len(results)} results for {len(batch)} items")
        except BaseException as exc:  # every waiter must hear about the failure
            log.exception("group commit of %d items failed", len(batch))
            self._resolve([(waiter, None, exc) for _, waiter in batch])
            return
        self._resolve(
            [(waiter, result, None) for (_, waiter), result in zip(batch, results, strict=True)]
        )

    @staticmethod
    def _resolve(outcomes: list[tuple[Waiter[R], R | None, BaseException | None]]) -> None:
        on_loops: dict[
            asyncio.AbstractEventLoop,
            list[tuple[asyncio.Future[R], R | None, BaseException | None]],
        ] = {}
        for waiter, result, exc in outcomes:
            if isinstance(waiter, Future):
                # False when its caller gave up waiting (cancelled): the write stands anyway.
                if waiter.set_running_or_notify_cancel():
                    if exc is None:
                        waiter.set_result(result)  # type: ignore[arg-type]
                    else:
                        waiter.set_exception(exc)
            else:
                loop, future = waiter
                on_loops.setdefault(loop, []).append((future, result, exc))
        for loop, settled in on_loops.items():
            try:
                loop.call_soon_threadsafe(_settle, settled)
            except RuntimeError:  # the loop is closed: nobody is left waiting there
                log.debug("a loop closed before %d commits were acknowledged", len(settled))


def _settle(settled: list[tuple[asyncio.Future[R], R | None, BaseException | None]]) -> None:
    """On the waiters' loop: resolve each future its caller still waits on."""
    for future, result, exc in settled:
        if future.done():  # cancelled: the caller gave up; the write stands anyway
            continue
        if exc is None:
            future.set_result(result)  # type: ignore[arg-type]
        else:
            future.set_exception(exc)
