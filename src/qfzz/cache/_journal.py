"""Removals the cache server missed while out of reach, to replay when it is back.

Only removals are journaled (a delete of keys, a clear of a namespace): a value write
that fails is simply not cached, since every value can be loaded again from the store,
but a removal that is lost would leave a stale value behind (a revoked session, for one).

A journaled delete or namespace clear is also a **tombstone**: until the replay has
applied it on the server, :meth:`Journal.removes` says so and the cache treats the key as
missing instead of reading back the value it was asked to forget. Removals a replay has
taken stay tombstones until it reports them applied.

This module knows nothing of the cache itself: the :class:`Replayer` is handed the
function that applies a journal's contents (``Cache`` owns it), so the cache depends on
the journal and never the other way round.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from qfzz.cache._backend import Command
from qfzz.cache._keys import Keyspace

log = logging.getLogger(__name__)


@dataclass(slots=True)
class JournalContents:
    clears: set[str] = field(default_factory=set)
    deletes: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.clears or self.deletes)


class Journal:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clears: set[str] = set()
        self._deletes: set[str] = set()
        # Removals taken by a replay and not yet applied: still tombstones.
        self._clearing: set[str] = set()
        self._deleting: set[str] = set()
        #: Something is waiting to be replayed (read without the lock on every success).
        self.pending = False
        #: Some key or namespace is a tombstone (read without the lock on every server read).
        self.removing = False

    def __len__(self) -> int:
        with self._lock:
            return len(self._clears | self._clearing) + len(self._deletes | self._deleting)

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

    def add_deletes(self, keys: Iterable[str]) -> None:
        with self._lock:
            self._deletes.update(keys)
            self._changed()

    def add_clear(self, namespace: str) -> None:
        with self._lock:
            self._clears.add(namespace)
            self._changed()

    def take(self) -> JournalContents:
        """Everything journaled so far, leaving the journal empty (removals stay tombstones)."""
        with self._lock:
            contents = JournalContents(set(self._clears), set(self._deletes))
            self._clearing |= self._clears
            self._deleting |= self._deletes
            self._clears, self._deletes = set(), set()
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
        """Return what could not be replayed, to be tried again."""
        with self._lock:
            self._clears |= contents.clears
            self._deletes |= contents.deletes
            self._clearing -= contents.clears
            self._deleting -= contents.deletes
            self._changed()

    def _changed(self) -> None:
        self.pending = bool(self._clears or self._deletes)
        self.removing = bool(self._clears or self._deletes or self._clearing or self._deleting)


#: Applies journaled removals to the server; returns what is left if it fails meanwhile.
Apply = Callable[[JournalContents], "JournalContents | None"]


class Replayer:
    """Replays the journal one run at a time; after an outage, then runs the recovery hooks.

    A run that fails midway puts back what is left (its tombstones with it). The probe
    that finds the server back always replays; otherwise the next call that reaches the
    server does, but after a failed run not again for ``retry_after`` seconds, so an entry
    the server keeps refusing costs one round trip now and then, not one per call.
    ``on_done`` runs after every run (the cache makes reads in flight too old for L1).
    """

    def __init__(
        self,
        journal: Journal,
        apply: Apply,
        *,
        clock: Callable[[], float],
        on_done: Callable[[], None],
        retry_after: float = 0.5,
    ) -> None:
        self._journal = journal
        self._apply = apply
        self._clock = clock
        self._on_done = on_done
        self.retry_after = retry_after
        self._lock = threading.Lock()
        self._recovered = False
        self._retry_at = 0.0
        self.hooks: list[Callable[[], None]] = []

    def run(self, *, recovered: bool = False) -> None:
        if recovered:
            self._recovered = True
        elif self._clock() < self._retry_at:
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
        todo = self._journal.take()
        try:
            left = self._apply(todo)
        except BaseException:
            self._journal.put_back(todo)  # keep the tombstones: never lose a delete
            raise
        finally:
            self._on_done()
        if left:
            self._journal.put_back(left)
            self._retry_at = self._clock() + self.retry_after
            return False
        self._retry_at = 0.0
        return True

    def _run_hooks(self) -> None:
        for hook in self.hooks:
            try:
                hook()
            except Exception:  # one failing hook must not stop the others
                log.exception("cache recovery hook failed")
