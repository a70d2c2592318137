"""``BufferReader``: one consumer's cursor into a shared ``StreamBuffer``.

A reader's cursor is an absolute index, not "the last key seen", so falling more than
``maxlen`` behind is an ``IndexDropped`` (or, if asked, a counted skip to the oldest item)
and never a silent jump. Readers take up to ``batch_size`` items per lock acquisition and
hand them out from a private list without the lock, which is what lets 64 readers go
faster than one source can be read item by item; a slow reader holds only its cursor
and its current batch, so it never blocks the source or the other readers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from types import TracebackType
from typing import Any, Generic, Literal, TypeVar

from qfzz.streams._errors import NOT_YET, EndOfStream, IndexDropped, NotYetType
from qfzz.streams._protocols import Feed, State
from qfzz.streams._ring import IndexedBuffer
from qfzz.streams._slicing import read_range

T = TypeVar("T")
KeyTrans = Callable[[Any], int] | Literal["key"] | None
OnDropped = Literal["raise", "skip"]


class BufferReader(Generic[T]):
    """Reads a ``StreamBuffer`` from its own cursor: iterate, call, slice, or ``await``.

    - ``start``: an absolute index, ``"oldest"`` (default), ``"newest"`` (only items that
      arrive from now on), or a negative number (that many items back from the newest,
      e.g. a late joiner starting a few seconds back).
    - ``blocking``/``timeout``: defaults of ``read()``, ``reader()`` and slicing. A
      non-blocking read of something not yet written returns ``NOT_YET``.
    - ``on_dropped``: ``"raise"`` ``IndexDropped`` when the cursor fell behind the ring,
      or ``"skip"`` to the oldest item, counting the loss in ``skipped``.
    - ``key_trans``: how slice bounds map to absolute indices: ``None`` (they are
      absolute indices), ``"key"`` (the source's keys, by bisection or the buffer's key
      map), or any function ``external index -> absolute index`` (e.g. ``Affine``).
    """

    def __init__(
        self,
        buffer: Feed[T],
        *,
        start: int | Literal["oldest", "newest"] = "oldest",
        blocking: bool = True,
        timeout: float | None = None,
        on_dropped: OnDropped = "raise",
        batch_size: int = 1024,
        key_trans: KeyTrans = None,
    ) -> None:
        if on_dropped not in ("raise", "skip"):
            raise ValueError(f"on_dropped must be 'raise' or 'skip', got {on_dropped!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if not (key_trans is None or key_trans == "key" or callable(key_trans)):
            raise ValueError(f"key_trans must be None, 'key' or a function, got {key_trans!r}")
        self._buffer = buffer
        self.blocking, self.timeout = blocking, timeout
        self.on_dropped: OnDropped = on_dropped
        self.batch_size = batch_size
        self.key_trans = key_trans
        self.skipped = 0
        self._batch: list[T] = []
        self._pos = 0
        self._entered = False
        self._limit = batch_size  # of the fetch under way (read by ``_take``)
        oldest, n = buffer.span
        if start == "oldest":
            self._cursor = oldest
        elif start == "newest":
            self._cursor = n
        elif isinstance(start, int):
            self._cursor = max(oldest, n + start) if start < 0 else start
        else:
            raise ValueError(f"start must be an int, 'oldest' or 'newest', got {start!r}")

    # -- facts ---------------------------------------------------------------------------
    @property
    def buffer(self) -> Feed[T]:
        return self._buffer

    @property
    def position(self) -> int:
        """Absolute index of the next item this reader will return."""
        return self._cursor - (len(self._batch) - self._pos)

    @property
    def source_info(self) -> dict[str, Any]:
        return self._buffer.info

    @property
    def is_entered(self) -> bool:
        return self._entered

    def seek(self, index: int) -> None:
        """Move the cursor to an absolute index (e.g. ``IndexDropped.oldest``)."""
        self._batch, self._pos, self._cursor = [], 0, index

    def fork(self) -> BufferReader[T]:
        """Another reader on the same buffer, at this reader's position, not entered."""
        return BufferReader(
            self._buffer,
            start=self.position,
            blocking=self.blocking,
            timeout=self.timeout,
            on_dropped=self.on_dropped,
            batch_size=self.batch_size,
            key_trans=self.key_trans,
        )

    # -- taking items (the one place that moves the cursor) ------------------------------
    def _take(self, ring: IndexedBuffer[T], state: State) -> list[T] | None:
        """Up to ``self._limit`` items at the cursor, or ``None`` while nothing new exists
        (called by the buffer, its lock held)."""
        limit = self._limit
        n, cursor = ring.number_of_items_inserted, self._cursor
        oldest = n - ring.maxlen if n > ring.maxlen else 0
        if cursor < oldest:
            if self.on_dropped == "raise":
                raise IndexDropped(cursor, oldest)
            self.skipped += oldest - cursor
            cursor = self._cursor = oldest
        if cursor < n:
            end = min(n, cursor + limit)
            self._cursor = end
            return ring.slice_held(cursor, end)
        if state == "running" or state == "idle":
            return None
        if state == "failed":
            self._buffer.raise_failure()
        raise EndOfStream(f"end of stream after {n} items ({state})")

    def _fetch(self, limit: int, block: bool, timeout: float | None) -> list[T] | None:
        self._limit = limit  # one reader is read by one thread (or task) at a time
        return self._buffer.wait_for(self._take, block=block, timeout=timeout)

    async def _afetch(self, limit: int, block: bool, timeout: float | None) -> list[T] | None:
        self._limit = limit
        return await self._buffer.await_for(self._take, block=block, timeout=timeout)

    def _local(self, limit: int) -> list[T]:
        pos = self._pos
        out = self._batch[pos : pos + limit]
        self._pos = pos + len(out)
        return out

    # -- sync reading --------------------------------------------------------------------
    def read(self, *, block: bool | None = None, timeout: float | None = None) -> T | NotYetType:
        """The next item; ``NOT_YET`` if none came in time; ``EndOfStream`` at the end."""
        pos = self._pos
        if pos < len(self._batch):
            self._pos = pos + 1
            return self._batch[pos]
        block = self.blocking if block is None else block
        batch = self._fetch(self.batch_size, block, self.timeout if timeout is None else timeout)
        if batch is None:
            return NOT_YET
        self._batch, self._pos = batch, 1
        return batch[0]

    __call__ = read

    def read_many(
        self, n: int | None = None, *, block: bool | None = None, timeout: float | None = None
    ) -> list[T]:
        """Up to ``n`` next items in one lock acquisition; ``[]`` if none came in time."""
        limit = self.batch_size if n is None else n
        if self._pos < len(self._batch):
            return self._local(limit)
        block = self.blocking if block is None else block
        items = self._fetch(limit, block, self.timeout if timeout is None else timeout)
        return [] if items is None else items

    def __next__(self) -> T:
        pos = self._pos
        if pos < len(self._batch):
            self._pos = pos + 1
            return self._batch[pos]
        try:
            batch = self._fetch(self.batch_size, True, None)
        except EndOfStream:
            raise StopIteration from None
        assert batch is not None
        self._batch, self._pos = batch, 1
        return batch[0]

    def __iter__(self) -> Iterator[T]:
        """Every item in order, blocking for new ones, until the end of the stream."""
        while True:
            batch = self._batch
            while (pos := self._pos) < len(batch):
                self._pos = pos + 1
                yield batch[pos]
            try:
                fetched = self._fetch(self.batch_size, True, None)
            except EndOfStream:
                return
            assert fetched is not None
            self._batch, self._pos = fetched, 0

    def iter_batches(self, n: int | None = None) -> Iterator[list[T]]:
        """Lists of up to ``n`` items until the end: the cheapest way to consume."""
        limit = self.batch_size if n is None else n
        while True:
            if self._pos < len(self._batch):
                yield self._local(limit)
                continue
            try:
                items = self._fetch(limit, True, None)
            except EndOfStream:
                return
            assert items is not None
            yield items

    # -- async reading -------------------------------------------------------------------
    async def aread(
        self, *, block: bool | None = None, timeout: float | None = None
    ) -> T | NotYetType:
        pos = self._pos
        if pos < len(self._batch):
            self._pos = pos + 1
            return self._batch[pos]
        block = self.blocking if block is None else block
        batch = await self._afetch(
            self.batch_size, block, self.timeout if timeout is None else timeout
        )
        if batch is None:
            return NOT_YET
        self._batch, self._pos = batch, 1
        return batch[0]

    async def aread_many(
        self, n: int | None = None, *, block: bool | None = None, timeout: float | None = None
    ) -> list[T]:
        limit = self.batch_size if n is None else n
        if self._pos < len(self._batch):
            return self._local(limit)
        block = self.blocking if block is None else block
        items = await self._afetch(limit, block, self.timeout if timeout is None else timeout)
        return [] if items is None else items

    async def __anext__(self) -> T:
        try:
            item = await self.aread(block=True, timeout=None)
        except EndOfStream:
            raise StopAsyncIteration from None
        assert not isinstance(item, NotYetType)
        return item

    def __aiter__(self) -> AsyncIterator[T]:
        return self._agen()

    async def _agen(self) -> AsyncIterator[T]:
        while True:
            batch = self._batch
            while (pos := self._pos) < len(batch):
                self._pos = pos + 1
                yield batch[pos]
            try:
                fetched = await self._afetch(self.batch_size, True, None)
            except EndOfStream:
                return
            assert fetched is not None
            self._batch, self._pos = fetched, 0
            await asyncio.sleep(0)  # one batch at a time, so readers sharing a loop take turns

    # -- lifecycle -----------------------------------------------------------------------
    def enter(self) -> BufferReader[T]:
        """Hold the buffer: the first holder starts the source."""
        if not self._entered:
            self._buffer.hold(self)
            self._entered = True
        return self

    def exit(self) -> None:
        """Release the buffer: the last holder stops the source and joins its producer."""
        if self._entered:
            self._entered = False
            self._buffer.release(self)

    close = exit

    def __enter__(self) -> BufferReader[T]:
        return self.enter()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.exit()

    async def __aenter__(self) -> BufferReader[T]:
        if not self._entered:
            await self._buffer.ahold(self)
            self._entered = True
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._entered:
            self._entered = False
            await self._buffer.arelease(self)

    # -- slicing (never moves the cursor) ------------------------------------------------
    def __getitem__(self, index: Any) -> Any:
        """``reader[i:j]`` is ``slice(i, j)``; ``reader[i]`` is ``item(i)``."""
        if isinstance(index, slice):
            got = self.slice(index.start, index.stop)
            if index.step in (None, 1) or isinstance(got, NotYetType):
                return got
            return got[:: index.step]
        return self.item(index)

    def slice(
        self,
        start: Any = None,
        stop: Any = None,
        *,
        block: bool | None = None,
        timeout: float | None = None,
    ) -> list[T] | NotYetType:
        """Items from ``start`` up to (excluding) ``stop``, in ``key_trans`` units.

        Open ends are the oldest and the newest item now. A ``stop`` not yet written
        waits (or returns ``NOT_YET``), so one range always gives the same items, until
        they are dropped and it raises ``IndexDropped`` (or is clipped with ``"skip"``).
        """
        return self._range(start, stop, False, block, timeout)

    def item(
        self, index: Any, *, block: bool | None = None, timeout: float | None = None
    ) -> T | NotYetType:
        """The item at ``index`` (for keys: the first item whose key is >= ``index``)."""
        got = self._range(index, None, True, block, timeout)
        if isinstance(got, NotYetType):
            return got
        if not got:
            n = self._buffer.number_of_items_inserted
            raise IndexError(f"no item at {index!r}: the stream ended after {n} items")
        return got[0]

    def _range(
        self, start: Any, stop: Any, single: bool, block: bool | None, timeout: float | None
    ) -> list[T] | NotYetType:
        return read_range(
            self._buffer,
            start,
            stop,
            key_trans=self.key_trans,
            single=single,
            on_dropped=self.on_dropped,
            block=self.blocking if block is None else block,
            timeout=self.timeout if timeout is None else timeout,
        )
