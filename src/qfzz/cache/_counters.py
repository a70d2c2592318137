"""Seeded counters: ``INCRBY`` only where the store's count was loaded first.

A seeded counter holds ``count + 1``, so it is never below 1; an ``INCRBY`` that answers
exactly its delta therefore hit a key that did not exist and just created it from
nothing, and the key is deleted again. The next read seeds it from the store (which
already holds the play). Without Lua this leaves one narrow race: a read in the
microseconds between such an ``INCRBY`` and its ``DEL`` sees a count that is too low.
The counter's TTL and ``PlayCounts.rebuild`` bound how long any drift can last.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from qfzz.cache import _backend as cmd

if TYPE_CHECKING:
    from qfzz.cache._core import Cache


def add(cache: Cache, namespace: str, deltas: Mapping[str, int]) -> None:
    """Add to counters that exist; journal the deltas while the server is unreachable."""
    deltas = {key: amount for key, amount in deltas.items() if amount}
    if deltas and not increment_existing(cache, namespace, deltas) and cache.kind != "embedded":
        cache.journal.add_deltas(deltas)


def increment_existing(cache: Cache, namespace: str, deltas: Mapping[str, int]) -> bool:
    """``False`` when the server could not be reached (nothing was counted)."""
    keys = list(deltas)
    replies = cache.run(namespace, [cmd.incrby(k, deltas[k]) for k in keys], atomic=False)
    if replies is None:
        return False
    created = [k for k, reply in zip(keys, replies, strict=True) if reply == deltas[k]]
    if created:
        cache.run(namespace, [cmd.delete(*created)])
    return True


def read(cache: Cache, namespace: str, keys: Sequence[str]) -> list[int | None]:
    """Each counter's count, ``None`` where it is not seeded (or unreadable)."""
    replies = cache.run(namespace, [cmd.mget(keys)], atomic=False)
    values: list[bytes | None] = replies[0] if replies else [None] * len(keys)  # type: ignore[assignment]
    counts: list[int | None] = []
    for value in values:
        try:
            counts.append(None if value is None else int(value) - 1)
        except ValueError:
            cache.count_error(namespace)
            counts.append(None)
    return counts


def seed(cache: Cache, namespace: str, counts: Mapping[str, int], ttl: float) -> None:
    """Store counts loaded from the store, unless another process seeded them first."""
    seeds = [cmd.set_(k, str(n + 1).encode(), ttl, nx=True) for k, n in counts.items()]
    if seeds:
        cache.run(namespace, seeds, atomic=False)
