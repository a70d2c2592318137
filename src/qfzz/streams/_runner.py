"""The producer: reads a source into a buffer, in a thread or as an asyncio task.

One loop per kind of source. Both report every outcome to the buffer — exhausted,
stopped, or failed with the exception that ended them — so a reader never mistakes a
crash for a normal end, and both close the source exactly once, in the producer's own
thread, before telling the readers (so "the stream ended" implies "the source is closed").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any, Literal, Protocol

from qfzz.streams._errors import KeyOrderError, SourceError
from qfzz.streams._protocols import AsyncSource

logger = logging.getLogger("qfzz.streams")

Outcome = Literal["ended", "stopped", "failed"]

#: Yield to the event loop after this many items, so a source that never suspends
#: (an async generator over a list) cannot starve the readers sharing its loop.
YIELD_EVERY = 64


class Sink(Protocol):
    """What a producer needs from its buffer."""

    @property
    def stop_requested(self) -> bool: ...
    def _publish(self, item: Any) -> None: ...
    def _publish_many(self, items: list[Any]) -> None: ...
    def _opened(self, info: dict[str, Any]) -> None: ...
    def _finish(self, outcome: Outcome, error: SourceError | None) -> None: ...


def is_async_source(source: object) -> bool:
    return isinstance(source, AsyncSource) or (
        hasattr(source, "aread") and not hasattr(source, "read")
    )


def _failure(exc: BaseException, during: str) -> SourceError:
    if isinstance(exc, SourceError):
        return exc
    err = SourceError(f"source failed during {during}: {exc!r}")
    err.__cause__ = exc
    return err


def _info_of(source: Any) -> dict[str, Any]:
    try:
        return dict(getattr(source, "info", None) or {})
    except Exception:
        logger.exception("reading the info of %r failed", source)
        return {}


def run_sync(sink: Sink, source: Any, on_opened: Callable[[], None]) -> None:
    """Open, read until ``None`` or a stop request, close; report the outcome."""
    try:
        source.open()
    except BaseException as exc:
        sink._finish("failed", _failure(exc, "open"))
        on_opened()
        return
    sink._opened(_info_of(source))
    on_opened()
    outcome: Outcome = "ended"
    error: SourceError | None = None
    try:
        read_batch = getattr(source, "read_batch", None)
        if read_batch is not None:
            publish_many = sink._publish_many
            while not sink.stop_requested:
                items = read_batch()
                if not items:
                    break
                publish_many(items)
        else:
            read, publish = source.read, sink._publish
            while not sink.stop_requested:
                item = read()
                if item is None:
                    break
                publish(item)
        if sink.stop_requested:
            outcome = "stopped"
    except KeyOrderError as exc:
        outcome, error = "failed", exc
    except BaseException as exc:
        outcome, error = "failed", _failure(exc, "read")
    finally:
        try:
            source.close()
        except Exception:
            logger.exception("closing the source %r failed", source)
        sink._finish(outcome, error)


async def run_async(sink: Sink, source: Any, on_opened: Callable[[], None]) -> None:
    """``run_sync`` for async sources; a cancellation (``stop``) is a normal stop."""
    try:
        await source.aopen()
    except asyncio.CancelledError:
        sink._finish("stopped", None)
        on_opened()
        return
    except BaseException as exc:
        sink._finish("failed", _failure(exc, "open"))
        on_opened()
        return
    sink._opened(_info_of(source))
    on_opened()
    outcome: Outcome = "ended"
    error: SourceError | None = None
    count = 0
    try:
        aread, publish = source.aread, sink._publish
        while not sink.stop_requested:
            item = await aread()
            if item is None:
                break
            publish(item)
            count += 1
            if count % YIELD_EVERY == 0:
                await asyncio.sleep(0)
        if sink.stop_requested:
            outcome = "stopped"
    except asyncio.CancelledError:
        outcome = "stopped"
    except KeyOrderError as exc:
        outcome, error = "failed", exc
    except BaseException as exc:
        outcome, error = "failed", _failure(exc, "read")
    finally:
        try:
            await source.aclose()
        except BaseException:
            logger.exception("closing the source %r failed", source)
        sink._finish(outcome, error)


class ThreadRunner:
    """Runs any source in a daemon thread (async sources get the thread's own loop)."""

    def __init__(self, sink: Sink, source: Any, name: str) -> None:
        self.sink, self.source = sink, source
        self.opened = threading.Event()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None

    def _main(self) -> None:
        if is_async_source(self.source):
            asyncio.run(self._amain())
        else:
            run_sync(self.sink, self.source, self.opened.set)

    async def _amain(self) -> None:
        self._loop, self._task = asyncio.get_running_loop(), asyncio.current_task()
        await run_async(self.sink, self.source, self.opened.set)

    def start(self) -> None:
        self._thread.start()

    def wait_opened(self) -> None:
        self.opened.wait()

    async def await_opened(self) -> None:
        if not self.opened.is_set():
            await asyncio.to_thread(self.opened.wait)

    def signal_stop(self) -> None:
        _interrupt(self.source)
        loop, task = self._loop, self._task
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed: the task is over
                loop.call_soon_threadsafe(task.cancel)

    def join(self, timeout: float | None) -> bool:
        if threading.current_thread() is self._thread:
            return False
        self._thread.join(timeout)
        return not self._thread.is_alive()

    async def ajoin(self, timeout: float | None) -> bool:
        if self._thread.is_alive():
            await asyncio.to_thread(self._thread.join, timeout)
        return not self._thread.is_alive()


class TaskRunner:
    """Runs an async source as a task of the event loop that started the buffer."""

    def __init__(self, sink: Sink, source: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.sink, self.source, self._loop = sink, source, loop
        self.opened = threading.Event()
        self._opened_future: asyncio.Future[None] = loop.create_future()
        self._done = threading.Event()
        self._task: asyncio.Task[None] | None = None

    def _on_opened(self) -> None:
        self.opened.set()
        if not self._opened_future.done():
            self._opened_future.set_result(None)

    async def _amain(self) -> None:
        try:
            await run_async(self.sink, self.source, self._on_opened)
        finally:
            self._done.set()

    def start(self) -> None:
        self._task = self._loop.create_task(self._amain())

    def _in_loop(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    def wait_opened(self) -> None:
        if not self._in_loop():
            self.opened.wait()

    async def await_opened(self) -> None:
        if self._in_loop():
            await asyncio.shield(self._opened_future)
        else:
            await asyncio.to_thread(self.opened.wait)

    def signal_stop(self) -> None:
        _interrupt(self.source)
        task = self._task
        if task is None:
            return
        if self._in_loop():
            task.cancel()
        else:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(task.cancel)

    def join(self, timeout: float | None) -> bool:
        if self._in_loop():  # cannot block the loop the task needs: await ajoin instead
            return self._done.is_set()
        return self._done.wait(timeout)

    async def ajoin(self, timeout: float | None) -> bool:
        if self._in_loop() and self._task is not None:
            await asyncio.wait({self._task}, timeout=timeout)
            return self._task.done()
        return await asyncio.to_thread(self._done.wait, timeout)


Runner = ThreadRunner | TaskRunner


def _interrupt(source: Any) -> None:
    interrupt = getattr(source, "interrupt", None)
    if interrupt is None:
        return
    try:
        interrupt()
    except Exception:
        logger.exception("interrupting the source %r failed", source)


def make_runner(
    sink: Sink, source: Any, loop: asyncio.AbstractEventLoop | None, name: str
) -> Runner:
    """A task in ``loop`` for async sources started from async code, else a thread."""
    if loop is not None and is_async_source(source):
        return TaskRunner(sink, source, loop)
    return ThreadRunner(sink, source, name)
