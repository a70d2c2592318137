"""The embedded backend: the command vocabulary emulated in process, bounded, with TTLs.

It is the default cache (nothing to install) and the per-process L1 in front of Redis.
Entries live in an ``OrderedDict`` in least-recently-used order; when ``max_entries`` is
reached the coldest entry goes. Expiry uses the injected clock, checked on access, so a
test moves time instead of sleeping. One lock makes every batch atomic, which is what
``MULTI``/``EXEC`` promises on a server.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

from qfzz.cache._backend import Backend, Command
from qfzz.cache._errors import BackendError

Clock = Callable[[], float]


#: Marks an entry whose decoded value is not kept (it is mutable, or not decoded yet).
NO_MEMO: object = object()


class _Entry:
    __slots__ = ("data", "expires_at", "memo")

    def __init__(self, data: bytes, expires_at: float | None, memo: object = NO_MEMO) -> None:
        self.data = data
        self.expires_at = expires_at
        self.memo = memo


class MemoryBackend(Backend):
    """A bounded, thread-safe, in-process store speaking the backend vocabulary."""

    def __init__(self, clock: Clock, *, max_entries: int = 100_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._clock = clock
        self.max_entries = max_entries
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._entries)

    def keys(self) -> list[str]:
        """Every key held now, coldest first (expired ones too, until touched): to inspect."""
        with self._lock:
            return list(self._entries)

    def execute(self, commands: Sequence[Command], *, atomic: bool = True) -> list[object]:
        with self._lock:
            now = self._clock()
            return [self._run(command, now) for command in commands]

    def get_fast(self, key: str) -> bytes | None:
        """``GET`` without building a command: the hot path of L1 and embedded reads."""
        found = self.get_memo(key)
        return None if found is None else found[0]

    def get_memo(self, key: str) -> tuple[bytes, object] | None:
        """The stored bytes and the decoded value kept beside them (or ``NO_MEMO``)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.expires_at is not None and entry.expires_at <= self._clock():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry.data, entry.memo

    def memoize(self, key: str, data: bytes, memo: object) -> None:
        """Keep ``memo`` (an immutable decoded value) beside ``data``, if still stored."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.data is data:
                entry.memo = memo

    def put_fast(self, key: str, data: bytes, ttl: float | None, memo: object = NO_MEMO) -> None:
        """``SET key data PX ttl`` without building a command (L1 fills).

        ``memo`` is the decoded value, given only when it is deeply immutable: readers
        then share it instead of decoding again, and cannot change it.
        """
        with self._lock:
            self._store(key, data, _deadline(self._clock(), ttl))
            self._entries[key].memo = memo

    def delete_fast(self, keys: Sequence[str]) -> None:
        with self._lock:
            for key in keys:
                self._entries.pop(key, None)

    def delete_matching(self, prefix: str, pattern: str) -> int:
        with self._lock:
            doomed = [key for key in self._entries if key.startswith(prefix)]
            for key in doomed:
                del self._entries[key]
            return len(doomed)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    # -- emulation ---------------------------------------------------------------------

    def _live(self, key: str, now: float) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires_at is not None and entry.expires_at <= now:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry

    def _store(self, key: str, data: bytes, expires_at: float | None) -> None:
        if key in self._entries:
            self._entries.move_to_end(key)
        else:
            while len(self._entries) >= self.max_entries:
                self._entries.popitem(last=False)
                self.evictions += 1
        self._entries[key] = _Entry(data, expires_at)

    def _run(self, cmd: Command, now: float) -> object:
        name, key, args = cmd.name, cmd.key, cmd.args
        if name == "GET":
            entry = self._live(key, now)
            return None if entry is None else entry.data
        if name == "MGET":
            found: list[bytes | None] = []
            for k in (key, *args):
                entry = self._live(str(k), now)
                found.append(None if entry is None else entry.data)
            return found
        if name == "SET":
            self._store(key, bytes(args[0]), _deadline(now, cmd.ttl))  # type: ignore[arg-type]
            return True
        if name == "DEL":
            return sum(1 for k in (key, *args) if self._entries.pop(str(k), None) is not None)
        if name == "PUBLISH":
            return 0
        raise BackendError(f"unsupported command {name}")


def _deadline(now: float, ttl: float | None) -> float | None:
    return None if ttl is None else now + ttl
