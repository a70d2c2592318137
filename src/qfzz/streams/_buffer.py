"""``StreamBuffer``: one source, read once into a bounded ring, shared by many readers.

The buffer owns the producer (a thread, or a task in async code), the ring, and the one
lock that guards both. Readers wait on a ``threading.Condition`` (threads) or on a
future woken through ``loop.call_soon_threadsafe`` (asyncio), never by polling; the
producer only pays for a wake-up when someone is waiting. The source starts when the
first holder (a reader's ``with``, or the buffer's own) enters and stops — its thread
joined, the source closed — when the last one leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import logging
import threading
import time
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, TypeVar

from qfzz.streams._errors import NotStarted, SourceError, StreamError
from qfzz.streams._intervals import Bounds, How, Intervals
from qfzz.streams._protocols import Positioned, State
from qfzz.streams._reader import BufferReader
from qfzz.streams._registry import SourceRegistry
from qfzz.streams._ring import IndexedBuffer
from qfzz.streams._runner import Outcome, Runner, make_runner

T = TypeVar("T")
R = TypeVar("R")
DEFAULT_MAXLEN = 10_000
logger = logging.getLogger("qfzz.streams")
_names = itertools.count(1)


def _resolve_all(futures: list[asyncio.Future[None]]) -> None:
    for fut in futures:
        if not fut.done():  # a reader that timed out or was cancelled is done already
            fut.set_result(None)


class StreamBuffer(Generic[T]):
    """Reads ``source`` once into a ring of ``maxlen`` items for any number of readers.

    ``key`` overrides the source's key; ``intervals`` (``True`` or an ``Intervals``
    rule, or any item → ``(bt, tt)`` function) makes items intervals for ``query``;
    ``key_map`` keeps a dict for O(1) exact-key lookups; ``allow_equal_keys`` accepts
    ties. A key that does not increase fails the stream with ``KeyOrderError``.
    ``stop_timeout`` bounds how long ``stop()`` waits for a source that ignores
    ``interrupt()``.
    """

    def __init__(
        self,
        source: Any,
        maxlen: int = DEFAULT_MAXLEN,
        *,
        key: Callable[[T], Any] | None = None,
        intervals: bool | Bounds | None = None,
        key_map: bool = False,
        allow_equal_keys: bool = False,
        stop_timeout: float = 5.0,
    ) -> None:
        bounds: Bounds | None = Intervals() if intervals is True else (intervals or None)
        if key is None and bounds is None:
            key = _source_key(source)
        self._ring: IndexedBuffer[T] = IndexedBuffer(
            maxlen, key=key, bounds=bounds, key_map=key_map, allow_equal_keys=allow_equal_keys
        )
        self._config: dict[str, Any] = {
            "maxlen": maxlen,
            "key": key,
            "intervals": intervals,
            "key_map": key_map,
            "allow_equal_keys": allow_equal_keys,
            "stop_timeout": stop_timeout,
        }
        self._source = source
        self._lock = self._ring.lock
        self._cond = threading.Condition(self._lock)
        self._waiting = 0
        # Waiting async readers, grouped by loop: one thread-safe call (one wake-up of
        # the loop's selector) per loop per publish, however many readers it runs.
        self._async_waiters: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
        self._state: State = "idle"
        self._error: SourceError | None = None
        self._open_ok = False
        self._stop_requested = False
        self._info: dict[str, Any] = {}
        self._life = threading.Lock()
        self._holders = 0
        self._readers: weakref.WeakSet[Positioned] = weakref.WeakSet()  # entered readers
        self._runner: Runner | None = None
        self._stop_timeout = stop_timeout
        self._name = f"qfzz-stream-{next(_names)}"
        _buffers.register(source, self)

    # -- facts ---------------------------------------------------------------------------
    @property
    def source(self) -> Any:
        return self._source

    @property
    def options(self) -> dict[str, Any]:
        """The options the buffer was made with (``maxlen``, ``key``, ...)."""
        return dict(self._config)

    @property
    def maxlen(self) -> int:
        return self._ring.maxlen

    @property
    def number_of_items_inserted(self) -> int:
        """Items ever inserted; item ``i`` keeps absolute index ``i`` for its whole life."""
        return self._ring.number_of_items_inserted

    @property
    def oldest_index(self) -> int:
        return self._ring.oldest_index

    def __len__(self) -> int:
        return len(self._ring)

    @property
    def state(self) -> State:
        """``idle`` → ``running`` → ``ended`` (exhausted), ``stopped`` or ``failed``."""
        return self._state

    @property
    def is_running(self) -> bool:
        return self._state == "running"

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested

    @property
    def error(self) -> SourceError | None:
        """Why the source failed, when ``state == "failed"``."""
        return self._error

    @property
    def info(self) -> dict[str, Any]:
        """The source's ``info``, captured when it opened."""
        return dict(self._info)

    @property
    def keyed(self) -> bool:
        return self._ring.keyed

    @property
    def span(self) -> tuple[int, int]:
        """``(oldest_index, number_of_items_inserted)``, read together."""
        with self._lock:
            return self._ring.oldest_index, self._ring.number_of_items_inserted

    def readers_behind(self) -> int:
        """How many entered readers have not yet read the newest item (a pipeline whose
        stages all answer 0 has nothing left to consume)."""
        newest = self._ring.number_of_items_inserted
        return sum(1 for reader in list(self._readers) if reader.position < newest)

    # -- reading without a reader (never blocks) ----------------------------------------
    def __getitem__(self, index: int | slice) -> Any:
        """``buf[i]``/``buf[i:j]`` by absolute index, now; the future is an ``IndexError``."""
        return self._ring[index]

    def key_to_index(self, key: Any, side: str = "left") -> int | None:
        return self._ring.key_to_index(key, side)

    def query(self, qbt: Any, qtt: Any, how: How = "overlaps") -> list[T]:
        """Buffered interval items meeting ``[qbt, qtt)``; see ``IndexedBuffer.query``."""
        return self._ring.query(qbt, qtt, how)

    def mk_reader(self, **reader_kw: Any) -> BufferReader[T]:
        """A new reader with its own cursor; see ``BufferReader`` for the options."""
        return BufferReader(self, **reader_kw)

    # -- waiting for items (what readers and slices are built on) -----------------------
    def wait_for(
        self,
        attempt: Callable[[IndexedBuffer[T], State], R | None],
        *,
        block: bool,
        timeout: float | None,
    ) -> R | None:
        """``attempt(ring, state)`` under the buffer's lock until it returns something.

        ``None`` means "not written yet": without ``block``, or once ``timeout`` seconds
        passed, that ``None`` is the answer; otherwise the call sleeps until the producer
        publishes or the stream ends. The lock and its condition stay here, so readers
        and slices never touch them; ``attempt`` may raise (a dropped index, the end).
        """
        with self._lock:
            got = attempt(self._ring, self._state)
            if got is not None or not block:
                return got
            self._check_idle()
            deadline = None if timeout is None else time.monotonic() + timeout
            while got is None:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._waiting += 1
                try:
                    self._cond.wait(remaining)
                finally:
                    self._waiting -= 1
                got = attempt(self._ring, self._state)
            return got

    async def await_for(
        self,
        attempt: Callable[[IndexedBuffer[T], State], R | None],
        *,
        block: bool,
        timeout: float | None,
    ) -> R | None:
        """``wait_for`` from async code: the loop is woken by the producer, never polled."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                got = attempt(self._ring, self._state)
                if got is not None or not block:
                    return got
                self._check_idle()
                loop = asyncio.get_running_loop()
                wake: asyncio.Future[None] = loop.create_future()
                self._async_waiters.setdefault(loop, []).append(wake)
            if deadline is None:
                await wake
                continue
            try:
                await asyncio.wait_for(wake, deadline - time.monotonic())
            except TimeoutError:
                with self._lock:  # a reader polling a quiet stream must not pile up futures
                    waiting = self._async_waiters.get(loop, [])
                    if wake in waiting:
                        waiting.remove(wake)
                return None

    def raise_failure(self) -> None:
        """Raise a fresh copy of the failure (one exception object per reader thread)."""
        error = self._error
        assert error is not None
        raise copy.copy(error) from error.__cause__

    # -- producer side (called by the runner) -------------------------------------------
    def _publish(self, item: T) -> None:
        with self._lock:
            self._ring._append_unlocked(item)
            if self._waiting:
                self._cond.notify_all()
            if self._async_waiters:
                self._wake_async_unlocked()

    def _publish_many(self, items: list[T]) -> None:
        with self._lock:
            try:
                self._ring._extend_unlocked(items)
            finally:  # a bad key midway still publishes the items before it
                if self._waiting:
                    self._cond.notify_all()
                if self._async_waiters:
                    self._wake_async_unlocked()

    def _opened(self, info: dict[str, Any]) -> None:
        self._info = info
        self._open_ok = True

    def _finish(self, outcome: Outcome, error: SourceError | None) -> None:
        with self._lock:
            if self._state == "running":
                self._state = outcome
                self._error = error
            self._cond.notify_all()
            self._wake_async_unlocked()

    def _wake_async_unlocked(self) -> None:
        waiters, self._async_waiters = self._async_waiters, {}
        for loop, futures in waiters.items():
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody left to wake
                loop.call_soon_threadsafe(_resolve_all, futures)

    def _check_idle(self) -> None:
        if self._state == "idle":
            raise NotStarted(
                "the buffer was never started: enter a reader (`with reader:`) or call start()"
            )

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Open the source and start producing (again, after a stop or an end)."""
        with self._life:
            runner = self._start_locked(None)
        self._after_start_sync(runner)

    async def astart(self) -> None:
        """``start`` from async code: async sources then run as a task of this loop."""
        with self._life:
            runner = self._start_locked(asyncio.get_running_loop())
        if runner is not None:
            await runner.await_opened()
            self._raise_open_error(runner)

    def stop(self, timeout: float | None = None) -> None:
        """Stop the source, join its producer and close it; readers then see the end."""
        runner = self._signal_stop()
        if runner is not None:
            self._after_join(runner.join(self._stop_timeout if timeout is None else timeout))

    async def astop(self, timeout: float | None = None) -> None:
        runner = self._signal_stop()
        if runner is not None:
            joined = await runner.ajoin(self._stop_timeout if timeout is None else timeout)
            self._after_join(joined)

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the source is no longer running (ended, stopped or failed)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._state != "running", timeout)

    def __enter__(self) -> StreamBuffer[T]:
        self._hold()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._unhold()

    async def __aenter__(self) -> StreamBuffer[T]:
        await self._ahold()
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._aunhold()

    def _start_locked(
        self, loop: asyncio.AbstractEventLoop | None, *, auto: bool = False
    ) -> Runner | None:
        """Start a producer unless one is running and not stopping (``_life`` held).

        A stop still in progress (the last reader just left) is waited for, so a reader
        entering at that moment restarts the source instead of meeting its end.
        ``auto`` (a reader entering) restarts only a stopped source, never an exhausted
        or failed one; an explicit ``start()`` restarts any.
        """
        if self._state == "running" and not self._stop_requested:
            return None
        previous = self._runner
        if previous is not None and not previous.join(self._stop_timeout):
            raise StreamError("the previous producer is still running; cannot restart")
        if auto and self._state not in ("idle", "stopped"):
            return None
        with self._lock:
            self._state, self._error, self._open_ok = "running", None, False
            self._stop_requested = False
        runner = make_runner(self, self._source, loop, self._name)
        self._runner = runner
        runner.start()
        return runner

    def _after_start_sync(self, runner: Runner | None) -> None:
        if runner is not None:
            runner.wait_opened()
            self._raise_open_error(runner)

    def _raise_open_error(self, runner: Runner) -> None:
        """After the open attempt: a source that could not open fails the entering call."""
        if not self._open_ok and self._state == "failed" and self._error is not None:
            self.raise_failure()

    def _signal_stop(self) -> Runner | None:
        with self._life:
            return self._signal_stop_locked()

    def _signal_stop_locked(self) -> Runner | None:
        runner = self._runner
        if runner is None:
            return None
        with self._lock:
            self._stop_requested = True
        runner.signal_stop()
        return runner

    def _after_join(self, joined: bool) -> None:
        if not joined:
            logger.warning(
                "%s: the source did not stop within the timeout (its read() ignores "
                "interrupt()); readers see the end of the stream now",
                self._name,
            )
            self._finish("stopped", None)

    # -- holders: readers' `with` and the buffer's own --------------------------------------
    def hold(self, reader: Positioned | None = None) -> None:
        """Keep the source running (the first holder starts it); ``reader`` is counted
        by ``readers_behind`` until it releases."""
        if reader is not None:
            self._readers.add(reader)
        try:
            self._hold()
        except BaseException:
            if reader is not None:
                self._readers.discard(reader)
            raise

    def release(self, reader: Positioned | None = None) -> None:
        """Undo one ``hold``: the last holder stops the source and joins its producer."""
        if reader is not None:
            self._readers.discard(reader)
        self._unhold()

    async def ahold(self, reader: Positioned | None = None) -> None:
        if reader is not None:
            self._readers.add(reader)
        try:
            await self._ahold()
        except BaseException:
            if reader is not None:
                self._readers.discard(reader)
            raise

    async def arelease(self, reader: Positioned | None = None) -> None:
        if reader is not None:
            self._readers.discard(reader)
        await self._aunhold()

    def _hold(self) -> None:
        with self._life:
            self._holders += 1
            runner = self._start_locked(None, auto=True) if self._holders == 1 else None
        try:
            self._after_start_sync(runner)
        except BaseException:
            self._unhold()
            raise

    def _unhold(self) -> None:
        with self._life:
            self._holders -= 1
            runner = self._signal_stop_locked() if self._holders == 0 else None
        if runner is not None:
            self._after_join(runner.join(self._stop_timeout))

    async def _ahold(self) -> None:
        with self._life:
            self._holders += 1
            runner = (
                self._start_locked(asyncio.get_running_loop(), auto=True)
                if self._holders == 1
                else None
            )
        try:
            if runner is not None:
                await runner.await_opened()
                self._raise_open_error(runner)
        except BaseException:
            await self._aunhold()
            raise

    async def _aunhold(self) -> None:
        with self._life:
            self._holders -= 1
            runner = self._signal_stop_locked() if self._holders == 0 else None
        if runner is not None:
            self._after_join(await runner.ajoin(self._stop_timeout))


def _source_key(source: Any) -> Callable[[Any], Any] | None:
    keyed = getattr(source, "keyed", None)
    key = getattr(source, "key", None)
    if keyed is None:
        return key if callable(key) else None
    return key if keyed else None


#: Every live buffer by its source; ``StreamBuffer`` registers itself here.
_buffers: SourceRegistry[StreamBuffer[Any]] = SourceRegistry()


def buffer_of(source: Any) -> StreamBuffer[Any] | None:
    """The live buffer reading ``source``, if any."""
    return _buffers.get(source)


def stream_buffer_for(
    source: Any, maxlen: int | None = None, **buffer_kw: Any
) -> StreamBuffer[Any]:
    """The buffer of ``source``, made with these options on first use; asking again with
    different options is an error (see ``SourceRegistry.share``)."""

    def make() -> StreamBuffer[Any]:
        if maxlen is not None:
            buffer_kw["maxlen"] = maxlen
        return StreamBuffer(source, **buffer_kw)

    return _buffers.share(source, make, {"maxlen": maxlen, **buffer_kw})
