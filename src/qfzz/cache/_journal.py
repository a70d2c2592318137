"""What happened while the cache server was out of reach, to replay when it is back.

Counter increments are summed per key, invalidations kept as a set of keys and namespaces,
queue writes kept in order (bounded: past ``max_batches`` the oldest are dropped and
counted, the queue then reports that a resync is needed). Everything here is also in the
store or rebuildable from it; the journal only saves the server from going stale.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from qfzz.cache import _backend as cmd
from qfzz.cache._backend import Command
from qfzz.cache._counters import increment_existing

if TYPE_CHECKING:
    from qfzz.cache._core import Cache


@dataclass(slots=True)
class JournalContents:
    clears: set[str] = field(default_factory=set)
    deletes: set[str] = field(default_factory=set)
    batches: list[list[Command]] = field(default_factory=list)
    deltas: dict[str, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.clears or self.deletes or self.batches or self.deltas)


class Journal:
    def __init__(self, *, max_batches: int = 100_000) -> None:
        self._lock = threading.Lock()
        self._clears: set[str] = set()
        self._deletes: set[str] = set()
        self._batches: deque[list[Command]] = deque()
        self._deltas: dict[str, int] = {}
        self.max_batches = max_batches
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._clears) + len(self._deletes) + len(self._batches) + len(self._deltas)

    def add_deltas(self, deltas: Mapping[str, int]) -> None:
        with self._lock:
            for key, amount in deltas.items():
                self._deltas[key] = self._deltas.get(key, 0) + amount

    def add_deletes(self, keys: Iterable[str]) -> None:
        with self._lock:
            self._deletes.update(keys)

    def add_clear(self, namespace: str) -> None:
        with self._lock:
            self._clears.add(namespace)

    def add_batch(self, commands: Sequence[Command]) -> None:
        with self._lock:
            self._batches.append(list(commands))
            while len(self._batches) > self.max_batches:
                self._batches.popleft()
                self.dropped += 1

    def take(self) -> JournalContents:
        """Everything journaled so far, leaving the journal empty."""
        with self._lock:
            contents = JournalContents(
                self._clears, self._deletes, list(self._batches), self._deltas
            )
            self._clears, self._deletes, self._deltas = set(), set(), {}
            self._batches.clear()
            return contents

    def put_back(self, contents: JournalContents) -> None:
        """Return what could not be replayed, ahead of anything journaled since."""
        with self._lock:
            self._clears |= contents.clears
            self._deletes |= contents.deletes
            self._batches.extendleft(reversed(contents.batches))
            for key, amount in contents.deltas.items():
                self._deltas[key] = self._deltas.get(key, 0) + amount


def replay(cache: Cache, todo: JournalContents) -> JournalContents | None:
    """Apply ``todo`` to the server; returns what is left if it fails again meanwhile.

    Order: namespace clears, then deletes (published, so other L1s drop them too), then
    queue writes in their original order, then counter increments.
    """
    for namespace in sorted(todo.clears):
        if cache.clear_namespace(namespace) == 0 and cache.breaker.state != "closed":
            return todo
        todo.clears.discard(namespace)
    if todo.deletes:
        keys = sorted(todo.deletes)
        message = cache.codec.encode({"from": cache.sender_id, "keys": keys})
        batch = [cmd.delete(*keys), cmd.publish(cache.keys.channel, message)]
        if cache.run("journal", batch) is None:
            return todo
        todo.deletes.clear()
    while todo.batches:
        batch = todo.batches[0]
        if cache.run(cache.keys.namespace_of(batch[0].key), batch) is None:
            return todo
        todo.batches.pop(0)
    if todo.deltas and not increment_existing(cache, "plays", todo.deltas):
        return todo
    return None
