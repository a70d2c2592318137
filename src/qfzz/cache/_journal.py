"""What happened while the cache server was out of reach, to replay when it is back.

Counter increments are summed per key, invalidations kept as a set of keys and namespaces,
queue writes kept in order (bounded: past ``max_batches`` the oldest are dropped and
counted, the queue then reports that a resync is needed). Everything here is also in the
store or rebuildable from it; the journal only saves the server from going stale.

A journaled delete or namespace clear is also a **tombstone**: until the replay has
applied it on the server, :meth:`Journal.removes` says so and the cache treats the key as
missing instead of reading back the value it was asked to forget (a revoked session, for
one). Removals a replay has taken stay tombstones until it reports them applied.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from qfzz.cache import _backend as cmd
from qfzz.cache._backend import Command
from qfzz.cache._counters import increment_existing
from qfzz.cache._keys import Keyspace

if TYPE_CHECKING:
    from qfzz.cache._core import Cache

log = logging.getLogger(__name__)


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
        # Removals taken by a replay and not yet applied: still tombstones.
        self._clearing: set[str] = set()
        self._deleting: set[str] = set()
        self.max_batches = max_batches
        self.dropped = 0
        #: Something is waiting to be replayed (read without the lock on every success).
        self.pending = False
        #: Some key or namespace is a tombstone (read without the lock on every server read).
        self.removing = False

    def __len__(self) -> int:
        with self._lock:
            removals = len(self._clears | self._clearing) + len(self._deletes | self._deleting)
            return removals + len(self._batches) + len(self._deltas)

    def removes(self, namespace: str, key: str) -> bool:
        """Whether ``key`` has a delete (or its namespace a clear) not yet on the server."""
        if not self.removing:
            return False
        with self._lock:
            return (
                key in self._deletes
                or key in self._deleting
                or namespace in self._clears
                or namespace in self._clearing
            )

    def blocks(self, commands: Sequence[Command], keys: Keyspace) -> bool:
        """Whether any command of a batch touches a tombstone (``PUBLISH`` names a channel)."""
        for command in commands:
            if command.name == "PUBLISH":
                continue
            names = [command.key]
            if command.name in ("MGET", "DEL"):  # more keys ride in args
                names += [str(arg) for arg in command.args]
            if any(self.removes(keys.namespace_of(key), key) for key in names):
                return True
        return False

    def add_deltas(self, deltas: Mapping[str, int]) -> None:
        with self._lock:
            for key, amount in deltas.items():
                self._deltas[key] = self._deltas.get(key, 0) + amount
            self._changed()

    def add_deletes(self, keys: Iterable[str]) -> None:
        with self._lock:
            self._deletes.update(keys)
            self._changed()

    def add_clear(self, namespace: str) -> None:
        with self._lock:
            self._clears.add(namespace)
            self._changed()

    def add_batch(self, commands: Sequence[Command]) -> None:
        with self._lock:
            self._batches.append(list(commands))
            while len(self._batches) > self.max_batches:
                self._batches.popleft()
                self.dropped += 1
            self._changed()

    def take(self) -> JournalContents:
        """Everything journaled so far, leaving the journal empty (removals stay tombstones)."""
        with self._lock:
            contents = JournalContents(
                set(self._clears), set(self._deletes), list(self._batches), self._deltas
            )
            self._clearing |= self._clears
            self._deleting |= self._deletes
            self._clears, self._deletes, self._deltas = set(), set(), {}
            self._batches.clear()
            self._changed()
            return contents

    def cleared(self, namespace: str) -> None:
        """A replay applied the clear of ``namespace``: its keys may be read again."""
        with self._lock:
            self._clearing.discard(namespace)
            self._changed()

    def deleted(self, keys: Iterable[str]) -> None:
        """A replay applied the deletes of ``keys``."""
        with self._lock:
            self._deleting.difference_update(keys)
            self._changed()

    def put_back(self, contents: JournalContents) -> None:
        """Return what could not be replayed, ahead of anything journaled since."""
        with self._lock:
            self._clears |= contents.clears
            self._deletes |= contents.deletes
            self._clearing -= contents.clears
            self._deleting -= contents.deletes
            self._batches.extendleft(reversed(contents.batches))
            for key, amount in contents.deltas.items():
                self._deltas[key] = self._deltas.get(key, 0) + amount
            self._changed()

    def _changed(self) -> None:
        self.pending = bool(self._clears or self._deletes or self._batches or self._deltas)
        self.removing = bool(self._clears or self._deletes or self._clearing or self._deleting)


def replay(cache: Cache, todo: JournalContents) -> JournalContents | None:
    """Apply ``todo`` to the server; returns what is left if it fails again meanwhile.

    Order: namespace clears, then deletes (published, so other L1s drop them too), then
    queue writes in their original order, then counter increments. Each clear and the
    deletes are reported to the journal as soon as they are applied, which lifts their
    tombstones.
    """
    journal = cache.journal
    for namespace in sorted(todo.clears):
        if cache.clear_namespace(namespace) == 0 and cache.breaker.state != "closed":
            return todo
        todo.clears.discard(namespace)
        journal.cleared(namespace)
    if todo.deletes:
        keys = sorted(todo.deletes)
        message = cache.codec.encode({"from": cache.sender_id, "keys": keys})
        batch = [cmd.delete(*keys), cmd.publish(cache.keys.channel, message)]
        if cache.run("journal", batch, tombstones=False) is None:
            return todo
        todo.deletes.clear()
        journal.deleted(keys)
    while todo.batches:
        batch = todo.batches[0]
        if cache.run(cache.keys.namespace_of(batch[0].key), batch, tombstones=False) is None:
            return todo
        todo.batches.pop(0)
    if todo.deltas and not increment_existing(cache, "plays", todo.deltas):
        return todo
    return None


class Replayer:
    """Replays the journal one run at a time; after an outage, then runs the recovery hooks.

    A run that fails midway puts back what is left (its tombstones with it). The probe
    that finds the server back always replays; otherwise the next call that reaches the
    server does, but after a failed run not again for ``retry_after`` seconds, so an entry
    the server keeps refusing costs one round trip now and then, not one per call.
    ``on_done`` runs after every run (the cache makes reads in flight too old for L1).
    """

    def __init__(
        self, cache: Cache, *, on_done: Callable[[], None], retry_after: float = 0.5
    ) -> None:
        self._cache = cache
        self._on_done = on_done
        self.retry_after = retry_after
        self._lock = threading.Lock()
        self._recovered = False
        self._retry_at = 0.0
        self.hooks: list[Callable[[], None]] = []

    def run(self, *, recovered: bool = False) -> None:
        if recovered:
            self._recovered = True
        elif self._cache.clock() < self._retry_at:
            return
        while self._lock.acquire(blocking=False):  # else another thread is replaying
            try:
                if not self._replay_once():
                    return
                if self._recovered:
                    self._recovered = False
                    self._run_hooks()
            finally:
                self._lock.release()
            if not self._recovered:  # unless the server came back while we ran
                return

    def _replay_once(self) -> bool:
        journal = self._cache.journal
        todo = journal.take()
        try:
            left = replay(self._cache, todo)
        except BaseException:
            journal.put_back(todo)  # keep the tombstones: never lose a delete
            raise
        finally:
            self._on_done()
        if left:
            journal.put_back(left)
            self._retry_at = self._cache.clock() + self.retry_after
            return False
        self._retry_at = 0.0
        return True

    def _run_hooks(self) -> None:
        for hook in self.hooks:
            try:
                hook()
            except Exception:  # one failing hook must not stop the others
                log.exception("cache recovery hook failed")
