"""Items as time intervals, and the four ways an item can meet a query interval.

An item covers the half-open interval ``[bt, tt)``; an item with ``bt == tt`` is the
single instant ``bt`` (a point event), so it still belongs somewhere. A query
``[qbt, qtt)`` follows the same rule. The predicates are spelled out once here and both
the buffer's query and its tests' brute-force model compare against the same prose.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

How = Literal["overlaps", "within", "contains", "starts_in"]
HOWS: tuple[How, ...] = get_args(How)
Anchor = Literal["start", "end", "centre", "center"]

#: Maps an item to its ``(bt, tt)``; ``Intervals`` is the ready-made one.
Bounds = Callable[[Any], tuple[Any, Any]]


@dataclass(frozen=True, slots=True)
class Intervals:
    """Normalise ``(bt, tt, data)`` and ``(t, data)`` items to ``(bt, tt)`` intervals.

    Three-tuples carry both ends. Two-tuples carry one timestamp ``t`` whose meaning the
    producer knows and the buffer cannot guess: the ``anchor`` says whether ``t`` is the
    start, the end or the centre of an interval ``duration`` long (``duration=0`` makes
    point events, the right choice for instantaneous things such as metadata changes).
    """

    duration: float = 0.0
    anchor: Anchor = "start"

    def __post_init__(self) -> None:
        if self.duration < 0:
            raise ValueError(f"duration must be >= 0, got {self.duration}")
        if self.anchor not in get_args(Anchor):
            raise ValueError(f"anchor must be one of {get_args(Anchor)}, got {self.anchor!r}")

    def __call__(self, item: Any) -> tuple[Any, Any]:
        size = len(item)
        if size == 3:
            bt, tt = item[0], item[1]
            if tt < bt:
                raise ValueError(f"interval item ends before it starts: bt={bt!r} > tt={tt!r}")
            return bt, tt
        if size != 2:
            raise ValueError(f"interval items are (bt, tt, data) or (t, data), got {size} fields")
        t, d = item[0], self.duration
        if self.anchor == "start":
            return t, t + d
        if self.anchor == "end":
            return t - d, t
        return t - d / 2, t + d / 2


def matches(how: How, bt: Any, tt: Any, qbt: Any, qtt: Any) -> bool:
    """Whether item ``[bt, tt)`` meets query ``[qbt, qtt)`` in the sense of ``how``.

    - ``overlaps``: they share at least one instant.
    - ``within``: the item lies entirely inside the query.
    - ``contains``: the query lies entirely inside the item.
    - ``starts_in``: the item's first instant lies inside the query.
    """
    point, qpoint = bt == tt, qbt == qtt
    if how == "overlaps":
        if point:
            return bool(bt == qbt if qpoint else qbt <= bt < qtt)
        if qpoint:
            return bool(bt <= qbt < tt)
        return bool(bt < qtt and qbt < tt)
    if how == "within":
        if qpoint:
            return bool(point and bt == qbt)
        return bool(qbt <= bt and (tt <= qtt if not point else bt < qtt))
    if how == "contains":
        if point:
            return bool(qpoint and bt == qbt)
        return bool(bt <= qbt and (qtt <= tt if not qpoint else qbt < tt))
    if how == "starts_in":
        return bool(bt == qbt if qpoint else qbt <= bt < qtt)
    raise ValueError(f"how must be one of {HOWS}, got {how!r}")
