"""One verification at a time, shared by everyone who asks meanwhile.

A full verification reads the whole interaction log, and anyone may ask for one (the
API's verify route is public). So at most one runs at a time, in its own thread; callers
that arrive while it runs get the same future; and its result is reused until the chain
or the log changes (a cheap fingerprint read) or ``max_age`` seconds pass on the injected
clock. Asking a thousand times costs one verification.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Generic, TypeVar

T = TypeVar("T")


class SharedRun(Generic[T]):
    def __init__(
        self,
        run: Callable[[], T],
        fingerprint: Callable[[], Hashable],
        *,
        clock: Callable[[], float],
        max_age: float,
    ) -> None:
        self._run = run
        self._fingerprint = fingerprint
        self._clock = clock
        self.max_age = max_age
        self._lock = threading.Lock()
        self._running: Future[T] | None = None
        self._done: tuple[Future[T], Hashable, float] | None = None
        self.runs = 0  # how many actually ran (for tests and metrics)

    def result(self) -> Future[T]:
        """The running verification, a fresh enough finished one, or a new one."""
        with self._lock:
            if self._running is not None:
                return self._running
        fingerprint = self._fingerprint()  # a read, outside the lock
        with self._lock:
            if self._running is not None:
                return self._running
            if self._done is not None:
                future, seen, at = self._done
                if seen == fingerprint and self._clock() - at < self.max_age:
                    return future
            future = Future()
            future.set_running_or_notify_cancel()
            self._running = future
            self.runs += 1
            started = self._clock()
        threading.Thread(
            target=self._work, args=(future, fingerprint, started), name="qfzz-verify", daemon=True
        ).start()
        return future

    def forget(self) -> None:
        """Drop the finished result (the chain was changed on purpose, e.g. repaired)."""
        with self._lock:
            self._done = None

    def _work(self, future: Future[T], fingerprint: Hashable, started: float) -> None:
        try:
            value = self._run()
        except BaseException as exc:  # handed to every waiting caller
            with self._lock:
                self._running = None
            future.set_exception(exc)
            return
        with self._lock:
            self._running = None
            self._done = (future, fingerprint, started)
        future.set_result(value)
