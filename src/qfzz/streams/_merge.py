"""Several sorted streams as one: ``MergedStreams`` and ``TimeSlicer``.

``MergedStreams`` weaves streams of timestamped items into one stream of
``(stream_id, item)`` pairs in key order, lazily (it holds one item per stream), so it
works on unbounded streams such as ``BufferReader``s. Unlike creek's version it never
compares two items: ties are ordered by the mapping's order, then by arrival, so
payloads need not be comparable and the order is stable. A stream that goes backwards
raises ``KeyOrderError`` instead of producing unsorted output.

``TimeSlicer`` cuts a merged stream into consecutive fixed-width windows, each holding
the items of every stream whose key falls inside it: the usual way to align, say, audio
chunks with the metadata and listener events of the same seconds.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from math import floor
from typing import Any, Generic, TypeVar

from qfzz.streams._errors import KeyOrderError

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


def default_key(item: Any) -> Any:
    """The timestamp of a ``(timestamp, ...)`` tuple, else the item itself."""
    return item[0] if isinstance(item, tuple) else item


class MergedStreams(Generic[K, T]):
    """Merge sorted streams into one sorted stream of ``(stream_id, item)`` pairs.

    ``key`` gives an item's sort key (by default the first element of a tuple item).
    Equal keys come out in the order of the mapping, then in each stream's order.

    >>> streams_map = {
    ...     'hello': [(2, 'two'), (3, 'three'), (5, 'five')],
    ...     'world': [(0, 'zero'), (1, 'one'), (3, 'three'), (6, 'six')]
    ... }
    >>> streams_items = MergedStreams(streams_map)
    >>> it = iter(streams_items)
    >>> list(it)  # doctest: +NORMALIZE_WHITESPACE
    [('world', (0, 'zero')),
     ('world', (1, 'one')),
     ('hello', (2, 'two')),
     ('hello', (3, 'three')),
     ('world', (3, 'three')),
     ('hello', (5, 'five')),
     ('world', (6, 'six'))]

    Payloads need not be comparable, and ties follow the mapping's order:

    >>> list(MergedStreams({'a': [(1, {'x': 1})], 'b': [(1, {'y': 2})]}))
    [('a', (1, {'x': 1})), ('b', (1, {'y': 2}))]
    """

    def __init__(
        self, streams: Mapping[K, Iterable[T]], *, key: Callable[[T], Any] = default_key
    ) -> None:
        self.streams = streams
        self.key = key

    @property
    def stream_ids(self) -> list[K]:
        return list(self.streams)

    def __iter__(self) -> Iterator[tuple[K, T]]:
        key = self.key
        # Heap entries are (key, rank, stream_id, item, iterator); (key, rank) is unique
        # among the entries present at once, so items and iterators are never compared.
        heap: list[tuple[Any, int, K, T, Iterator[T]]] = []
        for rank, (stream_id, stream) in enumerate(self.streams.items()):
            it = iter(stream)
            for item in it:
                heap.append((key(item), rank, stream_id, item, it))
                break
        heapq.heapify(heap)
        while heap:
            k, rank, stream_id, item, it = heap[0]
            yield stream_id, item
            for nxt in it:
                nk = key(nxt)
                if nk < k:
                    raise KeyOrderError(
                        f"stream {stream_id!r} is not sorted: key {nk!r} came after {k!r}"
                    )
                heapq.heapreplace(heap, (nk, rank, stream_id, nxt, it))
                break
            else:
                heapq.heappop(heap)


@dataclass(slots=True)
class Window(Generic[K, T]):
    """One window ``[bt, tt)`` with each stream's items whose key falls inside it."""

    bt: float
    tt: float
    items: dict[K, list[T]] = field(default_factory=dict)

    def __len__(self) -> int:
        return sum(len(v) for v in self.items.values())


class TimeSlicer(Generic[K, T]):
    """Consecutive windows of ``width`` over a merged stream, empty ones included.

    Windows are ``[origin + k * width, origin + (k + 1) * width)``, computed by
    multiplication so they do not drift; the first is the one holding the first item.
    Every window lists every known stream id (from ``stream_ids``, or the merged
    streams' ids), with an empty list when that stream has nothing there. A window is
    yielded once an item beyond it arrives, or when the input ends. ``skip_empty``
    leaves out windows without any item (useful when keys can jump far ahead).

    >>> merged = MergedStreams({'audio': [(0.0, 'a0'), (1.0, 'a1'), (2.5, 'a2')],
    ...                         'meta': [(0.5, 'title')]})
    >>> for window in TimeSlicer(merged, width=2.0):
    ...     print(window.bt, window.tt, window.items)
    0.0 2.0 {'audio': [(0.0, 'a0'), (1.0, 'a1')], 'meta': [(0.5, 'title')]}
    2.0 4.0 {'audio': [(2.5, 'a2')], 'meta': []}
    """

    def __init__(
        self,
        merged: Iterable[tuple[K, T]],
        width: float,
        *,
        origin: float = 0.0,
        key: Callable[[T], Any] | None = None,
        stream_ids: Sequence[K] | None = None,
        skip_empty: bool = False,
    ) -> None:
        if width <= 0:
            raise ValueError(f"width must be > 0, got {width}")
        self.merged = merged
        self.width = width
        self.origin = origin
        self.key = key if key is not None else getattr(merged, "key", default_key)
        ids = stream_ids if stream_ids is not None else getattr(merged, "stream_ids", ())
        self.stream_ids: list[K] = list(ids)
        self.skip_empty = skip_empty

    def _window_of(self, t: Any) -> int:
        k: int = floor((t - self.origin) / self.width)
        while t < self._bt(k):  # float division and multiplication can disagree at edges
            k -= 1
        while t >= self._bt(k + 1):
            k += 1
        return k

    def _bt(self, k: int) -> float:
        return self.origin + k * self.width

    def _empty(self, k: int) -> Window[K, T]:
        return Window(self._bt(k), self._bt(k + 1), {sid: [] for sid in self.stream_ids})

    def __iter__(self) -> Iterator[Window[K, T]]:
        current: Window[K, T] | None = None
        k = 0
        for stream_id, item in self.merged:
            wk = self._window_of(self.key(item))
            if current is None:
                k, current = wk, self._empty(wk)
            elif wk < k:
                raise KeyOrderError(f"item of {stream_id!r} at window {wk} came after window {k}")
            if wk > k:
                yield current
                if not self.skip_empty:
                    for gap in range(k + 1, wk):
                        yield self._empty(gap)
                k, current = wk, self._empty(wk)
            current.items.setdefault(stream_id, []).append(item)
        if current is not None:
            yield current
