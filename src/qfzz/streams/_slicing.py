"""Turning a slice request into absolute indices, and the formulaic ``key_trans``.

Three ways to address a stream, cheapest first: an ``Affine`` formula when items come
at a fixed rate (O(1), no lookup); the buffer's exact-key dict (``key_map=True``: O(1)
for data that carries its own index); bisection over the sorted keys (O(log n) for any
monotonic timestamp). All three mean the same thing: a position maps to the first item
that starts at or after it, so ``reader[x0:x1]`` is the items starting in ``[x0, x1)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import ceil
from typing import TYPE_CHECKING, Any, Literal

from qfzz.streams._errors import NOT_YET, IndexDropped, NotYetType

if TYPE_CHECKING:
    from qfzz.streams._protocols import Feed, State
    from qfzz.streams._ring import IndexedBuffer


@dataclass(frozen=True, slots=True)
class Affine:
    """``key_trans`` for items at a fixed rate: ``index = ceil((x - origin) * scale)``.

    Item ``i`` starts at ``origin + i / scale``; a position maps to the first item
    starting at or after it. ``Affine(scale=1 / 1024)``: sample numbers over chunks of
    1024 samples; ``Affine(scale=50, origin=t0)``: seconds over 20 ms packets from ``t0``.
    A position within a billionth of an item boundary counts as on it, so float error
    (``0.1 * 50 == 5.000000000000001``) does not skip an item.
    """

    scale: float
    origin: float = 0.0

    def __post_init__(self) -> None:
        if self.scale <= 0:
            raise ValueError(f"scale must be > 0, got {self.scale}")

    def __call__(self, x: float) -> int:
        v = (x - self.origin) * self.scale
        nearest = round(v)
        if abs(v - nearest) <= 1e-9 * max(1.0, abs(v)):
            return int(nearest)
        return ceil(v)

    def inverse(self, index: int) -> float:
        """The external position where item ``index`` starts."""
        return self.origin + index / self.scale


def resolve_range(
    buffer: Feed[Any],
    ring: IndexedBuffer[Any],
    state: State,
    start: Any,
    stop: Any,
    mode: Literal["index", "key"],
    single: bool,
    on_dropped: Literal["raise", "skip"],
) -> list[Any] | None:
    """The items of a range, ``None`` while its end is not written yet (lock held).

    A range is final once its end exists: later writes cannot change it, only drop it.
    When the stream is over, the end clips to what was written.
    """
    n, oldest = ring.number_of_items_inserted, ring.oldest_index
    live = state in ("running", "idle")
    i: int | None
    j: int | None
    if start is None:
        i = oldest
    elif mode == "key":
        i = ring.key_to_index_held(start)
    else:  # negative counts back from the newest, clipped at the first item ever
        i = max(0, start + n) if start < 0 else start
    if single:
        j = None if i is None else i + 1
    elif stop is None:
        j = n
    elif mode == "key":
        j = ring.key_to_index_held(stop)
    else:
        j = max(0, stop + n) if stop < 0 else stop
    # Dropped keys all map to ``oldest - 1``: a non-empty key range starting there lost
    # items we can no longer see, so it must not look empty.
    if (
        mode == "key"
        and i is not None
        and j is not None
        and j <= i < oldest
        and not single
        and start is not None
        and stop is not None
        and start < stop
    ):
        j = i + 1
    if i is None:
        if live:
            return None
        i = n
    if j is None or j > n:
        if live:
            return None
        if state == "failed":
            buffer.raise_failure()
        j = n
    if j <= i:
        return []
    if i < oldest:
        if on_dropped == "raise" or single:
            raise IndexDropped(i, oldest)
        i = oldest
        if j <= i:
            return []
    return ring.slice_held(i, j)


def read_range(
    buffer: Feed[Any],
    start: Any,
    stop: Any,
    *,
    key_trans: Callable[[Any], int] | Literal["key"] | None,
    single: bool,
    on_dropped: Literal["raise", "skip"],
    block: bool,
    timeout: float | None,
) -> list[Any] | NotYetType:
    """A reader's slice: map the bounds, then wait for the end to be written if asked."""
    if callable(key_trans):  # user code: called before taking the buffer's lock
        start = None if start is None else key_trans(start)
        stop = None if stop is None else key_trans(stop)
    mode: Literal["index", "key"] = "key" if key_trans == "key" else "index"
    got = buffer.wait_for(
        lambda ring, state: resolve_range(
            buffer, ring, state, start, stop, mode, single, on_dropped
        ),
        block=block,
        timeout=timeout,
    )
    return NOT_YET if got is None else got
