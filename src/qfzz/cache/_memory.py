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
_Data = bytes | list[bytes] | set[bytes]


#: Marks an entry whose decoded value is not kept (it is mutable, or not decoded yet).
NO_MEMO: object = object()


class _Entry:
    __slots__ = ("data", "expires_at", "memo")

    def __init__(self, data: _Data, expires_at: float | None, memo: object = NO_MEMO) -> None:
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
            data, memo = entry.data, entry.memo
        if type(data) is not bytes:
            raise BackendError(f"WRONGTYPE {key} does not hold a string")
        return data, memo

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

    def _store(self, key: str, data: _Data, expires_at: float | None) -> None:
        if key in self._entries:
            self._entries.move_to_end(key)
        else:
            while len(self._entries) >= self.max_entries:
                self._entries.popitem(last=False)
                self.evictions += 1
        self._entries[key] = _Entry(data, expires_at)

    def _typed(self, key: str, now: float, kind: type) -> _Entry | None:
        entry = self._live(key, now)
        if entry is not None and type(entry.data) is not kind:
            raise BackendError(f"WRONGTYPE {key} holds the wrong kind of value")
        return entry

    def _run(self, cmd: Command, now: float) -> object:
        name, key, args = cmd.name, cmd.key, cmd.args
        if name == "GET":
            entry = self._typed(key, now, bytes)
            return None if entry is None else entry.data
        if name == "MGET":
            found: list[bytes | None] = []
            for k in (key, *args):
                entry = self._live(str(k), now)
                found.append(entry.data if entry and type(entry.data) is bytes else None)
            return found
        if name == "SET":
            if cmd.nx and self._live(key, now) is not None:
                return False
            self._store(key, bytes(args[0]), _deadline(now, cmd.ttl))  # type: ignore[arg-type]
            return True
        if name == "DEL":
            return sum(1 for k in (key, *args) if self._entries.pop(str(k), None) is not None)
        if name == "EXISTS":
            return 1 if self._live(key, now) is not None else 0
        if name == "EXPIRE":
            entry = self._live(key, now)
            if entry is None:
                return False
            entry.expires_at = _deadline(now, cmd.ttl)
            return True
        if name == "INCRBY":
            entry = self._typed(key, now, bytes)
            raw = entry.data if entry is not None else b"0"
            try:
                value = int(raw) + int(args[0])  # type: ignore[arg-type]
            except ValueError:
                raise BackendError("ERR value is not an integer or out of range") from None
            self._store(key, str(value).encode(), entry.expires_at if entry else None)
            return value
        if name in ("LPUSH", "RPUSH"):
            entry = self._typed(key, now, list)
            items: list[bytes] = entry.data if entry else []  # type: ignore[assignment]
            for item in args:
                if name == "LPUSH":
                    items.insert(0, bytes(item))  # type: ignore[arg-type]
                else:
                    items.append(bytes(item))  # type: ignore[arg-type]
            if entry is None:
                self._store(key, items, None)
            return len(items)
        if name in ("LREM", "LTRIM", "LRANGE", "LINDEX"):
            return self._list_op(cmd, now)
        if name in ("SADD", "SREM", "SMEMBERS", "SISMEMBER"):
            return self._set_op(cmd, now)
        if name == "PUBLISH":
            return 0
        raise BackendError(f"unsupported command {name}")

    def _list_op(self, cmd: Command, now: float) -> object:
        entry = self._typed(cmd.key, now, list)
        items: list[bytes] = entry.data if entry else []  # type: ignore[assignment]
        name = cmd.name
        if name == "LINDEX":
            index = int(cmd.args[0])
            return items[index] if -len(items) <= index < len(items) else None
        if name == "LRANGE":
            return items[slice(*_span(len(items), int(cmd.args[0]), int(cmd.args[1])))]
        if name == "LREM":
            count, value = int(cmd.args[0]), cmd.args[1]
            order = range(len(items) - 1, -1, -1) if count < 0 else range(len(items))
            hits = [i for i in order if items[i] == value]
            if count:
                hits = hits[: abs(count)]
            for i in sorted(hits, reverse=True):
                del items[i]
            result: object = len(hits)
        else:  # LTRIM
            start, stop = _span(len(items), int(cmd.args[0]), int(cmd.args[1]))
            items[:] = items[start:stop]
            result = True
        if entry is not None and not items:
            del self._entries[cmd.key]
        return result

    def _set_op(self, cmd: Command, now: float) -> object:
        entry = self._typed(cmd.key, now, set)
        members: set[bytes] = entry.data if entry else set()  # type: ignore[assignment]
        values = [bytes(v) for v in cmd.args]  # type: ignore[arg-type]
        if cmd.name == "SMEMBERS":
            return set(members)
        if cmd.name == "SISMEMBER":
            return values[0] in members
        if cmd.name == "SADD":
            added = len(set(values) - members)
            members.update(values)
            if entry is None and members:
                self._store(cmd.key, members, None)
            return added
        removed = len(members & set(values))
        members.difference_update(values)
        if entry is not None and not members:
            del self._entries[cmd.key]
        return removed


def _deadline(now: float, ttl: float | None) -> float | None:
    return None if ttl is None else now + ttl


def _span(length: int, start: int, stop: int) -> tuple[int, int]:
    """Redis's inclusive, negative-aware ``start``/``stop`` as a Python slice."""
    if start < 0:
        start = max(0, length + start)
    if stop < 0:
        stop = length + stop
    return start, max(start, min(stop, length - 1) + 1)
