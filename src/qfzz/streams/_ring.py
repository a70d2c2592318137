"""``IndexedBuffer``: a bounded ring of items addressed by absolute index.

The stream2py buffer was a ``deque`` searched by key: every read walked the deque, and a
reader's cursor (the last key it saw) silently jumped forward when the items it still
needed were dropped. Here the storage is a plain list used as a ring
(``list[index % maxlen]``), so reading item ``i`` costs the same at 1k or 1M items, and
every item keeps its absolute index (``number_of_items_inserted`` when it arrived) for
its whole life. An index older than ``oldest`` raises ``IndexDropped``; nothing is
ever skipped without saying so.

Keys (a timestamp, a sample number...) are kept in a parallel ring. Because keys only
grow, the ring holds at most two sorted runs and a C ``bisect`` over the right run finds
a key in O(log n). An optional dict gives O(1) lookups of exact keys for data that
carries its own index. Interval items keep their end times too, for ``query``.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from math import ceil, floor
from typing import Any, Generic, TypeVar

from qfzz.streams._errors import IndexDropped, KeyOrderError, StreamError
from qfzz.streams._intervals import Bounds, How, matches

T = TypeVar("T")

_NO_KEY: Any = object()


class IndexedBuffer(Generic[T]):
    """The ring storage under ``StreamBuffer``, usable alone (e.g. prefilled in tests).

    Public methods take ``lock``; ``StreamBuffer`` shares that lock with its condition
    and calls the ``_unlocked`` variants while it holds it. Items before the first
    append (``prefill``) count in ``number_of_items_inserted`` like any other.

    ``key`` maps an item to its key; ``bounds`` (e.g. ``Intervals()``) maps an item to
    ``(bt, tt)`` and makes ``bt`` the key. Without either the buffer is unkeyed and an
    item's key is its absolute index. Keys must increase strictly, or only
    never decrease with ``allow_equal_keys`` (always the case for intervals, whose start
    times may tie).
    """

    def __init__(
        self,
        maxlen: int,
        *,
        key: Callable[[T], Any] | None = None,
        bounds: Bounds | None = None,
        key_map: bool = False,
        allow_equal_keys: bool = False,
        prefill: Iterable[T] = (),
    ) -> None:
        if not isinstance(maxlen, int) or maxlen < 1:
            raise ValueError(f"maxlen must be a positive int, got {maxlen!r}")
        if key is not None and bounds is not None:
            raise ValueError("give key or bounds, not both: an interval's key is its start")
        if key_map and key is None and bounds is None:
            raise ValueError("key_map needs keyed items (key= or bounds=)")
        self.maxlen = maxlen
        self.lock = threading.Lock()
        self._items: list[T] = []
        self._n = 0
        self._key = key
        self._bounds = bounds
        self._keys: list[Any] | None = [] if (key or bounds) else None
        self._ends: list[Any] | None = [] if bounds else None
        self._map: dict[Any, int] | None = {} if key_map else None
        self._allow_equal = allow_equal_keys or bounds is not None
        self._last_key: Any = _NO_KEY
        self._last_dropped_key: Any = _NO_KEY
        self._last_end: Any = _NO_KEY
        self._ends_sorted = True
        self._max_duration: Any = 0
        for item in prefill:
            self._append_unlocked(item)

    # -- sizes -------------------------------------------------------------------------
    @property
    def number_of_items_inserted(self) -> int:
        """Items ever appended; the next item's absolute index."""
        return self._n

    @property
    def oldest_index(self) -> int:
        """Absolute index of the oldest item still held (== inserted when empty)."""
        return self._n - self.maxlen if self._n > self.maxlen else 0

    @property
    def keyed(self) -> bool:
        return self._keys is not None

    def __len__(self) -> int:
        return min(self._n, self.maxlen)

    # -- writing -----------------------------------------------------------------------
    def append(self, item: T) -> None:
        with self.lock:
            self._append_unlocked(item)

    def extend(self, items: Iterable[T]) -> None:
        batch = list(items)
        with self.lock:
            self._extend_unlocked(batch)

    def _extend_unlocked(self, batch: list[T]) -> None:
        """Append many items; unkeyed ones by slice assignment, not one by one."""
        if self._keys is not None:
            for item in batch:
                self._append_unlocked(item)
            return
        n, m, items = self._n, self.maxlen, self._items
        done = 0
        while done < len(batch):
            if n < m:
                take = min(m - n, len(batch) - done)
                items.extend(batch[done : done + take])
            else:
                p = n % m
                take = min(m - p, len(batch) - done)
                items[p : p + take] = batch[done : done + take]
            n += take
            done += take
        self._n = n

    def _append_unlocked(self, item: T) -> None:
        """Append one item; validate its key first so a bad item leaves no trace."""
        n, m, keys = self._n, self.maxlen, self._keys
        if keys is None:
            if n < m:
                self._items.append(item)
            else:
                self._items[n % m] = item
            self._n = n + 1
            return
        tt: Any = None
        if self._bounds is not None:
            k, tt = self._bounds(item)
        else:
            k = self._key(item)  # type: ignore[misc]
        last = self._last_key
        if last is not _NO_KEY and (k < last or (k == last and not self._allow_equal)):
            raise KeyOrderError(
                f"key {k!r} of item {n} is not {'>=' if self._allow_equal else '>'} "
                f"the previous key {last!r}"
            )
        ends = self._ends
        if ends is not None:
            if self._last_end is not _NO_KEY and tt < self._last_end:
                self._ends_sorted = False
            self._last_end = tt
            if tt - k > self._max_duration:
                self._max_duration = tt - k
        if n < m:
            self._items.append(item)
            keys.append(k)
            if ends is not None:
                ends.append(tt)
        else:
            p = n % m
            old = keys[p]
            self._last_dropped_key = old
            if self._map is not None and self._map.get(old) == n - m:
                del self._map[old]
            self._items[p] = item
            keys[p] = k
            if ends is not None:
                ends[p] = tt
        if self._map is not None:
            self._map.setdefault(k, n)
        self._last_key = k
        self._n = n + 1

    # -- reading by absolute index -----------------------------------------------------
    def __getitem__(self, index: int | slice) -> Any:
        """``buf[i]`` or ``buf[i:j]`` by absolute index; the future is an ``IndexError``.

        Open ends mean the oldest item and the newest; negative numbers count back from
        ``number_of_items_inserted``, as for a list.
        """
        with self.lock:
            n = self._n
            if isinstance(index, slice):
                i, j = (
                    self._resolve(index.start, n, self.oldest_index),
                    self._resolve(index.stop, n, n),
                )
                self._check_range(i, j)
                out = self._slice_unlocked(i, j)
                return out[:: index.step] if index.step not in (None, 1) else out
            i = self._resolve(index, n, 0)
            self._check_range(i, i + 1)
            return self._items[i % self.maxlen]

    def key_to_index_held(self, key: Any, *, right: bool = False) -> int | None:
        """``key_to_index`` for a caller that already holds ``lock``."""
        return self._key_to_index_unlocked(key, right)

    @staticmethod
    def _resolve(value: int | None, n: int, default: int) -> int:
        if value is None:
            return default
        return max(0, value + n) if value < 0 else value

    def _check_range(self, i: int, j: int) -> None:
        if j > self._n:
            raise IndexError(f"index {j - 1} is not written yet ({self._n} inserted)")
        if i < self.oldest_index and j > i:
            raise IndexDropped(i, self.oldest_index)

    def _slice_unlocked(self, i: int, j: int) -> list[T]:
        """Items ``i..j-1``; the caller guarantees ``oldest <= i`` and ``j <= inserted``."""
        if j <= i:
            return []
        m = self.maxlen
        a = i % m
        b = a + (j - i)
        if b <= m:
            return self._items[a:b]
        return self._items[a:] + self._items[: b - m]

    #: Items ``i..j-1`` (all still held) for a caller that already holds ``lock`` (a
    #: ``StreamBuffer`` reader waiting under it); an alias, not a wrapper: it is hot.
    slice_held = _slice_unlocked

    # -- reading by key ----------------------------------------------------------------

    def key_to_index(self, key: Any, side: str = "left") -> int | None:
        """Absolute index of the first item whose key is >= ``key`` (``>`` for "right").

        ``None`` when no such item has arrived yet: a later item may still have a key
        below ``key``. An index before ``oldest_index`` means the answer was dropped.
        """
        with self.lock:
            return self._key_to_index_unlocked(key, side == "right")

    def _key_to_index_unlocked(self, key: Any, right: bool = False) -> int | None:
        n = self._n
        keys = self._keys
        if keys is None:  # unkeyed: the key is the absolute index
            i = floor(key) + 1 if right else ceil(key)
            return i if i <= n else None
        if n == 0:
            return None
        dropped = self._last_dropped_key
        if dropped is not _NO_KEY and (key < dropped or (key == dropped and not right)):
            return self.oldest_index - 1
        if self._map is not None and not right:
            hit = self._map.get(key)
            if hit is not None:
                return hit
        i = self._bisect(keys, key, right)
        return None if i == n else i

    def _bisect(self, ring: list[Any], x: Any, right: bool) -> int:
        """Bisect a ring of non-decreasing values, answering in absolute indices."""
        n, m = self._n, self.maxlen
        find = bisect_right if right else bisect_left
        if n <= m:
            return find(ring, x, 0, n)
        s = n % m
        oldest = n - m
        if s == 0:
            return oldest + find(ring, x)
        last_of_first_run = ring[m - 1]
        if last_of_first_run > x or (not right and last_of_first_run == x):
            return oldest + find(ring, x, s, m) - s
        return oldest + (m - s) + find(ring, x, 0, s)

    # -- interval queries --------------------------------------------------------------
    def query(self, qbt: Any, qtt: Any, how: How = "overlaps") -> list[T]:
        """Buffered items meeting ``[qbt, qtt)`` (see ``matches``), in order.

        O(log n + k) when intervals end in the order they start (fixed durations, or a
        stream of back-to-back segments); otherwise the scan starts one longest-duration
        earlier, which is still O(log n + k) unless durations vary wildly.
        """
        with self.lock:
            return self._query_unlocked(qbt, qtt, how)

    def _query_unlocked(self, qbt: Any, qtt: Any, how: How) -> list[T]:
        keys, ends = self._keys, self._ends
        if keys is None or ends is None:
            raise StreamError("query needs interval items: build the buffer with intervals=")
        if qtt < qbt:
            raise ValueError(f"query ends before it starts: {qbt!r} > {qtt!r}")
        if self._n == 0:
            return []
        if how in ("within", "starts_in"):
            lo = self._bisect(keys, qbt, False)
        elif self._ends_sorted:
            lo = self._bisect(ends, qbt if how == "overlaps" else qtt, False)
        else:
            lo = self._bisect(keys, qbt - self._max_duration, False)
        hi = self._bisect(keys, qbt if how == "contains" else qtt, True)
        m, items = self.maxlen, self._items
        out = []
        for i in range(max(lo, self.oldest_index), hi):
            p = i % m
            if matches(how, keys[p], ends[p], qbt, qtt):
                out.append(items[p])
        return out
