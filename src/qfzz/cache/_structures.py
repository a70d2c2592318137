"""Counters, lists and sets: play counts, recently played, favorites, device sync queues.

These are built with server-side commands (``INCRBY``, ``LPUSH``/``LREM``/``LTRIM``,
``SADD``/``SREM``) so many processes update them without read-modify-write races. One rule
keeps them honest: **a write never creates a structure; only seeding from the store does.**
A write that finds its structure missing (never read, evicted, lost with the server) undoes
what it created, and the next read rebuilds the whole structure from its loader. So a
partial structure is never mistaken for the truth after a cache loss.

How a write can tell, without Lua: a seeded counter holds ``count + 1`` (so ``INCRBY``
returning exactly the delta means the key was absent); a seeded favorites set holds a
marker member; a recently-played list pushed to and found one long was absent.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence

from qfzz.cache import _backend as cmd
from qfzz.cache import _counters as counters
from qfzz.cache._core import Cache
from qfzz.cache._types import PlayDelta, SyncBatch, SyncItem

log = logging.getLogger(__name__)

DAY = 86400.0
_MARK = b"\x00"  # never produced by the codec (its output is JSON text)


class PlayCounts:
    """Play counters per track and per listener-track, derived from stored interactions.

    Call :meth:`record` after the interaction is stored. Reads seed missing counters from
    the loader (the store's count). With ``flush`` set, recorded plays are also handed to
    it in batches of ``flush_every`` (for a stored, pre-aggregated count table).
    """

    namespace = "plays"

    def __init__(
        self,
        cache: Cache,
        *,
        ttl: float = DAY,
        flush: Callable[[Sequence[PlayDelta]], None] | None = None,
        flush_every: int = 500,
    ) -> None:
        self.cache = cache
        self.ttl = ttl
        self._flush = flush
        self.flush_every = flush_every
        self._pending: dict[tuple[int, str | None], int] = {}
        self._pending_plays = 0
        self._lock = threading.Lock()

    def track_key(self, track_id: int) -> str:
        return self.cache.keys.key(self.namespace, "t", track_id)

    def listener_key(self, user_id: str, track_id: int) -> str:
        return self.cache.keys.key(self.namespace, "lt", user_id, track_id)

    def record(self, track_id: int, user_id: str | None = None, plays: int = 1) -> None:
        self.record_many([(track_id, user_id, plays)])

    def record_many(self, plays: Iterable[tuple[int, str | None, int]]) -> None:
        deltas: dict[str, int] = {}
        flushable: dict[tuple[int, str | None], int] = {}
        for track_id, user_id, n in plays:
            key = self.track_key(track_id)
            deltas[key] = deltas.get(key, 0) + n
            flushable[(track_id, None)] = flushable.get((track_id, None), 0) + n
            if user_id is not None:
                key = self.listener_key(user_id, track_id)
                deltas[key] = deltas.get(key, 0) + n
                flushable[(track_id, user_id)] = flushable.get((track_id, user_id), 0) + n
        counters.add(self.cache, self.namespace, deltas)
        if self._flush is not None:
            with self._lock:
                for ident, n in flushable.items():
                    self._pending[ident] = self._pending.get(ident, 0) + n
                self._pending_plays += sum(n for (_, user), n in flushable.items() if user is None)
                due = self._pending_plays >= self.flush_every
            if due:
                self.flush()

    def flush(self) -> int:
        """Hand the plays recorded since the last flush to ``flush``; returns how many."""
        if self._flush is None:
            return 0
        with self._lock:
            pending, self._pending, self._pending_plays = self._pending, {}, 0
        if not pending:
            return 0
        batch = [PlayDelta(track, user, n) for (track, user), n in sorted(pending.items(), key=str)]
        try:
            self._flush(batch)
        except Exception:  # keep them for the next flush; the interactions are stored anyway
            log.exception("flushing %d play counts failed", len(batch))
            self.cache.count_error(self.namespace)
            with self._lock:
                for delta in batch:
                    ident = (delta.track_id, delta.user_id)
                    self._pending[ident] = self._pending.get(ident, 0) + delta.plays
            return 0
        return sum(d.plays for d in batch if d.user_id is None)

    def track(self, track_id: int, loader: Callable[[int], int]) -> int:
        return self.tracks([track_id], lambda ids: {i: loader(i) for i in ids})[track_id]

    def tracks(
        self, track_ids: Sequence[int], loader: Callable[[list[int]], Mapping[int, int]]
    ) -> dict[int, int]:
        keys = {self.track_key(i): i for i in track_ids}
        return self._counts(keys, loader)

    def listener_track(self, user_id: str, track_id: int, loader: Callable[[], int]) -> int:
        keys = {self.listener_key(user_id, track_id): track_id}
        return self._counts(keys, lambda _ids: {track_id: loader()})[track_id]

    def _counts(
        self, keys: Mapping[str, int], loader: Callable[[list[int]], Mapping[int, int]]
    ) -> dict[int, int]:
        counts = counters.read(self.cache, self.namespace, list(keys))
        pairs = list(zip(keys.items(), counts, strict=True))
        result = {ident: n for (_, ident), n in pairs if n is not None}
        missing = {key: ident for (key, ident), n in pairs if n is None}
        if missing:
            loaded = loader(list(missing.values()))
            seeds = {key: int(loaded.get(ident, 0)) for key, ident in missing.items()}
            counters.seed(self.cache, self.namespace, seeds, self.ttl)
            result.update({missing[key]: n for key, n in seeds.items()})
        return result

    def rebuild(
        self,
        track_counts: Mapping[int, int],
        listener_counts: Mapping[tuple[str, int], int] | None = None,
    ) -> None:
        """Drop every counter, then seed these (from the store's interactions)."""
        self.cache.clear_namespace(self.namespace)
        seeds = {self.track_key(t): n for t, n in track_counts.items()}
        for (user, track), n in (listener_counts or {}).items():
            seeds[self.listener_key(user, track)] = n
        counters.seed(self.cache, self.namespace, seeds, self.ttl)


class RecentlyPlayed:
    """Per listener, the last ``size`` distinct tracks, newest first."""

    namespace = "recent"

    def __init__(self, cache: Cache, *, size: int = 50, ttl: float = 7 * DAY) -> None:
        self.cache = cache
        self.size = size
        self.ttl = ttl

    def key(self, user_id: str) -> str:
        return self.cache.keys.key(self.namespace, user_id)

    def push(self, user_id: str, track_id: int) -> None:
        key, item = self.key(user_id), str(track_id).encode()
        batch = [
            cmd.lrem(key, 0, item),
            cmd.lpush(key, item),
            cmd.ltrim(key, 0, self.size - 1),
            cmd.expire(key, self.ttl),
        ]
        replies = self.cache.run(self.namespace, batch, journal="delete")
        if replies is not None and replies[1] == 1:  # it did not exist: not seeded
            self.cache.run(self.namespace, [cmd.delete(key)], journal="delete")

    def get(self, user_id: str, loader: Callable[[str], Sequence[int]]) -> list[int]:
        """The list, seeded from ``loader`` (the store's plays, newest first) if missing."""
        key = self.key(user_id)
        replies = self.cache.run(self.namespace, [cmd.lrange(key, 0, self.size - 1)])
        raw: list[bytes] = replies[0] if replies else []  # type: ignore[assignment]
        if raw:
            return [int(item) for item in raw]
        tracks = list(dict.fromkeys(loader(user_id)))[: self.size]
        if tracks:
            items = [str(t).encode() for t in tracks]
            seed = [cmd.delete(key), cmd.rpush(key, *items), cmd.expire(key, self.ttl)]
            self.cache.run(self.namespace, seed)
        return tracks

    def invalidate(self, user_id: str) -> None:
        self.cache.run(self.namespace, [cmd.delete(self.key(user_id))], journal="delete")


class Favorites:
    """Per listener, the set of favorite track ids (the store holds the truth)."""

    namespace = "fav"

    def __init__(self, cache: Cache, *, ttl: float = 7 * DAY) -> None:
        self.cache = cache
        self.ttl = ttl

    def key(self, user_id: str) -> str:
        return self.cache.keys.key(self.namespace, user_id)

    def add(self, user_id: str, track_id: int) -> None:
        key = self.key(user_id)
        batch = [cmd.sadd(key, str(track_id).encode()), cmd.sismember(key, _MARK)]
        replies = self.cache.run(self.namespace, batch, journal="delete")
        if replies is not None and not replies[1]:  # it did not exist: not seeded
            self.cache.run(self.namespace, [cmd.delete(key)], journal="delete")

    def remove(self, user_id: str, track_id: int) -> None:
        batch = [cmd.srem(self.key(user_id), str(track_id).encode())]
        self.cache.run(self.namespace, batch, journal="delete")

    def get(self, user_id: str, loader: Callable[[str], Iterable[int]]) -> set[int]:
        key = self.key(user_id)
        replies = self.cache.run(self.namespace, [cmd.smembers(key)])
        members: set[bytes] = replies[0] if replies else set()  # type: ignore[assignment]
        if _MARK in members:
            return {int(m) for m in members if m != _MARK}
        favorites = set(loader(user_id))
        seed = [
            cmd.delete(key),
            cmd.sadd(key, _MARK, *(str(t).encode() for t in favorites)),
            cmd.expire(key, self.ttl),
        ]
        self.cache.run(self.namespace, seed)
        return favorites

    def contains(self, user_id: str, track_id: int, loader: Callable[[str], Iterable[int]]) -> bool:
        return track_id in self.get(user_id, loader)

    def invalidate(self, user_id: str) -> None:
        self.cache.run(self.namespace, [cmd.delete(self.key(user_id))], journal="delete")


class DeviceSyncQueue:
    """Per device, changes to deliver in order, each acknowledged by id; bounded.

    The list starts with a marker put there by :meth:`reset` (after the device's full sync);
    when the marker is gone (lost, never reset, or pushed out by overflow) :meth:`pull`
    says ``resync``. Acknowledged items leave the list, and it never holds more than
    ``max_items + 1`` entries (the marker and ``max_items`` changes, or after an overflow
    the newest ``max_items + 1`` changes).
    """

    namespace = "devsync"

    def __init__(self, cache: Cache, *, max_items: int = 1000, ttl: float = 30 * DAY) -> None:
        self.cache = cache
        self.max_items = max_items
        self.ttl = ttl
        self._deferred_acks: dict[str, set[str]] = {}
        self._lock = threading.Lock()
        cache.recovery_hooks.append(self._replay_acks)

    def key(self, device_id: str) -> str:
        return self.cache.keys.key(self.namespace, device_id)

    def reset(self, device_id: str) -> None:
        key = self.key(device_id)
        batch = [cmd.delete(key), cmd.rpush(key, _MARK), cmd.expire(key, self.ttl)]
        self.cache.run(self.namespace, batch, journal="batch")

    def push(self, device_id: str, change: object) -> str:
        """Queue ``change`` (any codec value) for the device; returns its item id."""
        item_id = uuid.uuid4().hex
        key = self.key(device_id)
        item = item_id.encode() + b" " + self.cache.codec.encode(change)
        batch = [
            cmd.rpush(key, item),
            cmd.ltrim(key, -(self.max_items + 1), -1),
            cmd.expire(key, self.ttl),
        ]
        self.cache.run(self.namespace, batch, journal="batch")
        return item_id

    def pull(self, device_id: str, limit: int = 100) -> SyncBatch:
        replies = self.cache.run(self.namespace, [cmd.lrange(self.key(device_id), 0, limit)])
        if replies is None:
            return SyncBatch((), available=False)
        raw: list[bytes] = replies[0]  # type: ignore[assignment]
        resync = not raw or raw[0] != _MARK
        items = []
        for entry in raw[0 if resync else 1 :][:limit]:
            item_id, _, body = entry.partition(b" ")
            items.append(SyncItem(item_id.decode(), self.cache.codec.decode(body)))
        return SyncBatch(tuple(items), resync=resync)

    def ack(self, device_id: str, item_ids: Iterable[str]) -> int:
        """Remove acknowledged items; returns how many left the queue now."""
        wanted = {i.encode() for i in item_ids}
        key = self.key(device_id)
        replies = self.cache.run(self.namespace, [cmd.lrange(key, 0, -1)])
        if replies is None:
            with self._lock:
                self._deferred_acks.setdefault(device_id, set()).update(i.decode() for i in wanted)
            return 0
        raw: list[bytes] = replies[0]  # type: ignore[assignment]
        doomed = [entry for entry in raw if entry.partition(b" ")[0] in wanted]
        if not doomed:
            return 0
        removed = self.cache.run(self.namespace, [cmd.lrem(key, 1, e) for e in doomed])
        return sum(int(n) for n in removed or [])  # type: ignore[call-overload]

    def _replay_acks(self) -> None:
        with self._lock:
            deferred, self._deferred_acks = self._deferred_acks, {}
        for device_id, ids in deferred.items():
            self.ack(device_id, ids)
