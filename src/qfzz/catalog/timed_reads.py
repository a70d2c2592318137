"""File reads with a deadline: a stalled file is skipped, never a stalled scan.

Only regular files are opened (``qfzz.audio.open_regular``), but reading a regular file
can still block for ever: a dead network mount, a hung FUSE file system, a failing disk.
Python cannot interrupt a thread blocked in ``read(2)``, so :class:`TimedReads` runs each
read in a worker thread and waits for it until a deadline. A read that misses it raises
:class:`ReadTimedOut` for the caller to report; its worker is abandoned (a daemon thread,
so it never holds up the process's exit) and a fresh one takes the next read. While
``max_stalled`` abandoned workers are still stuck, every further read fails at once
instead of leaving threads behind without bound.

The wait is injectable (``wait(future, timeout) -> finished``) so tests can decide when a
deadline passes without waiting for real time.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent import futures
from typing import Any, TypeVar

from qfzz.errors import UnreadableFile

T = TypeVar("T")
Wait = Callable[["futures.Future[Any]", float], bool]

#: Seconds one file's reading (tags and content id, or cover art) may take.
READ_TIMEOUT = 30.0
#: Abandoned reads still stuck at which further reads give up at once.
MAX_STALLED = 8
#: Idle workers kept for the next reads (concurrent readers beyond this start their own).
MAX_IDLE = 4


class ReadTimedOut(UnreadableFile):
    """A read did not finish before its deadline (the file is skipped, not retried)."""

    code = "read_timed_out"


def wait_for(future: futures.Future[Any], timeout: float) -> bool:
    """The real wait: True when ``future`` finished within ``timeout`` seconds."""
    done, _ = futures.wait([future], timeout=timeout)
    return future in done


class _Worker:
    """One daemon thread running reads one after another until told to stop."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], futures.Future[Any]] | None]
        self._jobs = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="qfzz-file-read", daemon=True)
        self._thread.start()

    def submit(self, read: Callable[[], T]) -> futures.Future[T]:
        future: futures.Future[T] = futures.Future()
        self._jobs.put((read, future))
        return future

    def stop(self) -> None:
        """Exit after the current read (at once when idle)."""
        self._jobs.put(None)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            read, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(read())
            except BaseException as exc:  # handed to the waiting caller
                future.set_exception(exc)


class TimedReads:
    """Runs file reads with a deadline each; safe to share between threads."""

    def __init__(
        self,
        timeout: float = READ_TIMEOUT,
        *,
        max_stalled: int = MAX_STALLED,
        wait: Wait = wait_for,
    ) -> None:
        if timeout <= 0 or max_stalled < 1:
            raise ValueError("a read timeout must be positive and max_stalled at least 1")
        self.timeout = timeout
        self.max_stalled = max_stalled
        self._wait = wait
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._stalled: list[_Worker] = []

    @property
    def stalled(self) -> int:
        """Abandoned reads that have not returned yet."""
        with self._lock:
            return self._prune()

    def run(self, read: Callable[[], T], what: str) -> T:
        """``read()``'s result or exception; ReadTimedOut (naming ``what``) past the deadline."""
        with self._lock:
            stalled = self._prune()
            if stalled >= self.max_stalled:
                raise ReadTimedOut(
                    f"{what}: not read, {stalled} earlier reads have not returned "
                    f"(is the file system hanging?)"
                )
            worker = self._idle.pop() if self._idle else _Worker()
        future = worker.submit(read)
        if not self._wait(future, self.timeout):
            worker.stop()  # it exits if the read ever returns
            with self._lock:
                self._stalled.append(worker)
            raise ReadTimedOut(f"{what}: no answer within {self.timeout:g} s")
        with self._lock:
            if len(self._idle) < MAX_IDLE:
                self._idle.append(worker)
            else:
                worker.stop()
        return future.result()

    def close(self) -> None:
        """Stop the idle workers (stalled ones exit if their read ever returns)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.stop()

    def _prune(self) -> int:
        self._stalled = [w for w in self._stalled if w.is_alive()]
        return len(self._stalled)
