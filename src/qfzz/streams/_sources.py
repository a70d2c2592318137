"""Sources: what a ``StreamBuffer`` reads from, once, for all of its readers.

A source implements ``open()``, ``read()`` (the next item, or ``None`` once it is
exhausted), ``close()``, ``key(item)`` and ``info`` — the stream2py protocol — with two
changes that remove polling: ``read()`` may block until its next item exists (the buffer
calls it from its own thread), and ``interrupt()`` lets ``StreamBuffer.stop()`` wake a
blocked ``read()`` so the producer thread can be joined. ``None`` always means the end,
never "nothing yet", so the buffer never has to guess and sleep.

Optionally, ``read_batch()`` returns a list of the next items (``[]`` at the end) that
the buffer inserts under one lock acquisition with one wake-up of the readers; a source
offers it when it has several items at hand at once (a file, a list, a decoder frame).

Async sources implement ``aopen``/``aread``/``aclose`` instead; the buffer runs them as
an asyncio task when started from async code, or in a thread with its own loop.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Callable,
    Collection,
    Iterable,
    Iterator,
)
from itertools import islice
from math import floor
from typing import IO, Any, Generic, TypeVar

from qfzz.streams._buffer import StreamBuffer, buffer_of, stream_buffer_for
from qfzz.streams._protocols import AsyncSource, SyncSource

T = TypeVar("T")
_END: Any = object()


class _SourceBase(Generic[T]):
    """What sync and async sources share: keys, info, interruption and the fluent API."""

    #: A key function given to a ready-made source (``key=``), if any.
    _key: Callable[[T], Any] | None = None

    def key(self, item: T) -> Any:
        """The item's key (timestamp, sample number...); unkeyed sources never call it."""
        if self._key is not None:
            return self._key(item)
        raise TypeError(f"{type(self).__name__} is unkeyed: its items' keys are their indices")

    @property
    def keyed(self) -> bool:
        """Whether ``key`` means something: a ``key=`` function, or a subclass's ``key``."""
        return self._key is not None or type(self).key is not _SourceBase.key

    @property
    def info(self) -> dict[str, Any]:
        """Facts about the source for readers (sample rate, path...); captured at open."""
        return {}

    def interrupt(self) -> None:
        """Make a blocked ``read`` return soon; called from another thread by ``stop``."""

    @property
    def is_started(self) -> bool:
        """True while a ``StreamBuffer`` is running this source."""
        buffer = buffer_of(self)
        return buffer is not None and buffer.is_running

    def stream_buffer(self, maxlen: int | None = None, **buffer_kw: Any) -> StreamBuffer[T]:
        """The one buffer of this source, made on first call (fluent interface)."""
        return stream_buffer_for(self, maxlen, **buffer_kw)


class SourceReader(_SourceBase[T], SyncSource[T]):
    """Base class of blocking sources; subclass it and implement open, read and close."""


class AsyncSourceReader(_SourceBase[T], AsyncSource[T]):
    """Base class of sources that produce by awaiting (network feeds, async decoders)."""


class IterableSource(SourceReader[T]):
    """Items from any iterable; re-iterates it on each open (a list replays, a generator
    does not). ``None`` cannot be an item because it marks the end of a source.

    ``batch`` items are handed to the buffer per lock acquisition (``read_batch``). It
    defaults to 256 for in-memory collections, whose items are all there already, and
    to 1 for other iterables, which may block between items (a live generator): batching
    those would hold back items that exist until later ones do.
    """

    def __init__(
        self,
        iterable: Iterable[T],
        *,
        key: Callable[[T], Any] | None = None,
        info: dict[str, Any] | None = None,
        batch: int | None = None,
    ) -> None:
        if batch is not None and batch < 1:
            raise ValueError(f"batch must be >= 1, got {batch}")
        self._iterable = iterable
        self.batch = batch if batch is not None else 256 if isinstance(iterable, Collection) else 1
        self._key = key
        self._info = dict(info or {})
        self._it: Iterator[T] | None = None
        self.open_count = 0
        self.close_count = 0

    def open(self) -> None:
        self._it = iter(self._iterable)
        self.open_count += 1

    def read(self) -> T | None:
        assert self._it is not None, "read before open"
        item = next(self._it, _END)
        if item is _END:
            return None
        if item is None:
            raise ValueError("IterableSource got None: None marks the end of a source")
        return item

    def read_batch(self) -> list[T]:
        """Up to ``batch`` next items; ``[]`` when exhausted."""
        assert self._it is not None, "read before open"
        if self.batch == 1:
            item = self.read()
            return [] if item is None else [item]
        items = list(islice(self._it, self.batch))
        for item in items:
            if item is None:
                raise ValueError("IterableSource got None: None marks the end of a source")
        return items

    def close(self) -> None:
        self._it = None
        self.close_count += 1

    @property
    def info(self) -> dict[str, Any]:
        return {**self._info, "open_count": self.open_count}


class AsyncIterableSource(AsyncSourceReader[T]):
    """Items from an async iterable (an async generator, a websocket, a queue reader)."""

    def __init__(
        self,
        aiterable: AsyncIterable[T],
        *,
        key: Callable[[T], Any] | None = None,
        info: dict[str, Any] | None = None,
    ) -> None:
        self._aiterable = aiterable
        self._key = key
        self._info = dict(info or {})
        self._it: AsyncIterator[T] | None = None
        self.open_count = 0
        self.close_count = 0

    async def aopen(self) -> None:
        self._it = aiter(self._aiterable)
        self.open_count += 1

    async def aread(self) -> T | None:
        assert self._it is not None, "aread before aopen"
        try:
            item = await anext(self._it)
        except StopAsyncIteration:
            return None
        if item is None:
            raise ValueError("AsyncIterableSource got None: None marks the end of a source")
        return item

    async def aclose(self) -> None:
        aclose = getattr(self._it, "aclose", None)
        self._it = None
        self.close_count += 1
        if aclose is not None:
            await aclose()

    @property
    def info(self) -> dict[str, Any]:
        return {**self._info, "open_count": self.open_count}


class FileSource(SourceReader[Any]):
    """A binary file (a path, or an open file it will not close) in fixed-size chunks.

    Items are ``bytes``, keyed by their absolute index (chunk number), or with
    ``offsets=True`` they are ``(byte_offset, chunk)`` pairs keyed by the offset, so a
    reader can slice by byte position with ``key_trans="key"``.
    """

    def __init__(
        self,
        file: str | os.PathLike[str] | IO[bytes],
        chunk_size: int = 65536,
        *,
        offsets: bool = False,
    ) -> None:
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        self._file = file
        self.chunk_size = chunk_size
        self._offsets = offsets
        self._f: IO[bytes] | None = None
        self._owned = False
        self._pos = 0

    def open(self) -> None:
        if isinstance(self._file, str | os.PathLike):
            self._f, self._owned = open(self._file, "rb"), True  # noqa: SIM115
        else:
            self._f, self._owned = self._file, False
        self._pos = 0

    def read(self) -> Any:
        assert self._f is not None, "read before open"
        chunk = self._f.read(self.chunk_size)
        if not chunk:
            return None
        offset, self._pos = self._pos, self._pos + len(chunk)
        return (offset, chunk) if self._offsets else chunk

    def close(self) -> None:
        if self._f is not None and self._owned:
            self._f.close()
        self._f = None

    def key(self, item: Any) -> Any:
        if not self._offsets:
            return super().key(item)
        return item[0]

    @property
    def keyed(self) -> bool:
        return self._offsets

    @property
    def info(self) -> dict[str, Any]:
        file = self._file
        name = file if isinstance(file, str | os.PathLike) else getattr(file, "name", None)
        return {"file": None if name is None else str(name), "chunk_size": self.chunk_size}


class CallableSource(SourceReader[T]):
    """Calls ``fn()`` every ``interval`` seconds; each non-None result is an item.

    Ticks are computed from the open time (``t0 + k * interval``) so they do not drift.
    When ``fn`` was slow, one late poll happens at once and the other missed ticks are
    skipped, rather than fired in a burst.
    ``fn`` ends the source by raising ``StopIteration``; ``max_items`` ends it too.
    ``clock`` and ``sleep`` are injected so tests move time by hand; the default sleep
    waits on an event that ``interrupt()`` sets, so ``stop()`` never waits a tick out.
    """

    def __init__(
        self,
        fn: Callable[[], T | None],
        *,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
        max_items: int | None = None,
        key: Callable[[T], Any] | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be > 0, got {interval}")
        self._fn = fn
        self.interval = interval
        self._clock = clock
        self._interrupted = threading.Event()
        self._sleep = sleep if sleep is not None else self._interrupted.wait
        self._max_items = max_items
        self._key = key
        self._t0 = 0.0
        self._tick = 0
        self._count = 0

    def open(self) -> None:
        self._interrupted.clear()
        self._t0 = self._clock()
        self._tick = 0
        self._count = 0

    def read(self) -> T | None:
        while not self._interrupted.is_set():
            if self._max_items is not None and self._count >= self._max_items:
                return None
            wait = self._t0 + self._tick * self.interval - self._clock()
            if wait > 0:
                self._sleep(wait)
                if self._interrupted.is_set():
                    break
            elapsed_ticks = floor((self._clock() - self._t0) / self.interval)
            self._tick = max(self._tick + 1, elapsed_ticks + 1)
            try:
                item = self._fn()
            except StopIteration:
                return None
            if item is not None:
                self._count += 1
                return item
        return None

    def close(self) -> None:
        pass

    def interrupt(self) -> None:
        self._interrupted.set()

    @property
    def info(self) -> dict[str, Any]:
        return {"interval": self.interval, "max_items": self._max_items}
