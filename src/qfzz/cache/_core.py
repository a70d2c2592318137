"""The cache core: codec, keys, two levels, circuit breaker, journal and statistics.

Services (``qfzz.cache._values``) describe *what* they cache;
this module decides *where* and makes sure no cache problem reaches a caller:

* **Values** carry their expiry from the injected clock in an 8-byte header, so a TTL
  means the same on both backends and in tests that move a fake clock; the server's own
  TTL (a little longer) only reclaims memory.
* **Two levels**: with a shared backend, a small per-process L1 sits in front. Every
  invalidation deletes the keys on the server and publishes them in the same
  ``MULTI``/``EXEC``; other processes drop them from their L1 when the message arrives.
  A value read from the server is put in L1 only if no invalidation came meanwhile
  (``qfzz.cache._local``); an invalidation drops L1 again after the server's answer.
* **Failures** are counted, logged at debug level and turned into misses. Unreachable
  servers feed the circuit breaker; while it is open the server is not called at all and
  removals (invalidations, namespace clears) go to the journal, replayed by the next call
  that gets through. A value write that fails is just not cached: the store has it.
* **Revocation wins**: a key whose delete waits in the journal is a tombstone (reads
  miss without asking the server) until the replay has applied it; one attribute read
  while the journal holds no removal.
"""

from __future__ import annotations

import logging
import struct
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from qfzz.cache import _backend as cmd
from qfzz.cache._backend import Backend, Command
from qfzz.cache._breaker import CircuitBreaker
from qfzz.cache._codec import Codec, is_immutable
from qfzz.cache._errors import BackendError, BackendUnavailable, CacheError, UnserializableValue
from qfzz.cache._journal import Journal, JournalContents, Replayer
from qfzz.cache._keys import Keyspace
from qfzz.cache._local import HEADER as _HEADER
from qfzz.cache._local import LocalTier
from qfzz.cache._memory import NO_MEMO, MemoryBackend
from qfzz.cache._stats import NamespaceStats, StatsBook

log = logging.getLogger(__name__)

Clock = Callable[[], float]
#: ``(channel, on_message, on_connect)`` → a subscriber thread (``subscribed``, ``close()``).
BusFactory = Callable[[str, Callable[[bytes], None], Callable[[], None]], Any]
T = TypeVar("T")

#: How much longer than the logical TTL the server keeps a value (clock skew between nodes).
SERVER_TTL_GRACE = 60.0


class Cache:
    """One cache (embedded, or L1 + a shared server), shared by all the typed services."""

    def __init__(
        self,
        backend: Backend,
        *,
        clock: Clock,
        keys: Keyspace | None = None,
        codec: Codec | None = None,
        l1: MemoryBackend | None = None,
        l1_ttl: float = 10.0,
        breaker: CircuitBreaker | None = None,
        bus: BusFactory | None = None,
        blocking: Callable[[Callable[[Any], Any]], Any] | None = None,
        strict: bool = False,
    ) -> None:
        self.backend = backend
        self.clock = clock
        self.keys = keys or Keyspace()
        self.codec = codec or Codec()
        self.l1 = l1
        self.l1_ttl = l1_ttl
        self._tier = LocalTier(l1, ttl=l1_ttl, clock=clock)
        self.breaker = breaker or CircuitBreaker(clock)
        self.strict = strict
        self.journal = Journal()
        self._replayer = Replayer(
            self.journal, self._replay, clock=clock, on_done=self._tier.advance
        )
        #: Run once the journal is replayed after an outage (``ServerLink.on_recovery``).
        self.recovery_hooks = self._replayer.hooks
        self._fast = backend if isinstance(backend, MemoryBackend) else None
        self._stats = StatsBook()
        self.sender_id = uuid.uuid4().hex
        self._heard = threading.Condition()
        self.remote_invalidations = 0
        #: Subscribes to a channel of the server (``EventChannel``); None without one.
        self.subscriber = bus
        #: Runs a call that waits on the server (``PacketLog.read``); None without one.
        self.blocking = blocking
        self._bus = bus and bus(self.keys.channel, self._on_bus_message, self._on_bus_connect)

    @property
    def kind(self) -> str:
        return "embedded" if self._fast is not None else "redis"

    @property
    def circuit_state(self) -> str:
        return "closed" if self._fast is not None else self.breaker.state

    # -- values --------------------------------------------------------------------------

    def lookup(self, namespace: str, key: str, *, local: bool = True) -> tuple[bool, Any]:
        """``(True, value)`` on a hit, ``(False, None)`` on a miss or any cache problem."""
        start = time.perf_counter()
        l1 = self.l1 if local else None
        for level in (l1, self._fast):
            if level is not None:
                found, value = self._local(namespace, level, key)
                if found:
                    self._stats.hit(namespace, time.perf_counter() - start, l1=level is l1)
                    return True, value
        journal = self.journal
        if self._fast is None and not (journal.removing and journal.removes(namespace, key)):
            generation = self._tier.generation
            replies = self._call(namespace, [cmd.get(key)])
            data: bytes | None = replies[0] if replies else None  # type: ignore[assignment]
            if data is not None:
                found, value = self._open(namespace, key, data)
                if found:
                    if l1 is not None:
                        self._tier.fill(key, data, value, generation)
                    self._stats.hit(namespace, time.perf_counter() - start)
                    return True, value
        self._stats.miss(namespace, time.perf_counter() - start)
        return False, None

    def lookup_many(
        self, namespace: str, keys: Sequence[str], *, local: bool = True
    ) -> list[tuple[bool, Any]]:
        """Like :meth:`lookup` for many keys, with one ``MGET`` for what L1 lacks."""
        if self._fast is not None or not keys:
            return [self.lookup(namespace, key, local=local) for key in keys]
        l1 = self.l1 if local else None
        results: list[tuple[bool, Any]] = [(False, None)] * len(keys)
        wanted: list[int] = []
        for i, key in enumerate(keys):
            found = self._local(namespace, l1, key) if l1 is not None else (False, None)
            if found[0]:
                results[i] = found
                self._stats.hit(namespace, 0.0, l1=True)
            elif self.journal.removes(namespace, key):
                self._stats.miss(namespace, 0.0)
            else:
                wanted.append(i)
        if not wanted:
            return results
        start = time.perf_counter()
        generation = self._tier.generation
        replies = self._call(namespace, [cmd.mget([keys[i] for i in wanted])])
        fetched: list[bytes | None] = replies[0] if replies else [None] * len(wanted)  # type: ignore[assignment]
        elapsed = (time.perf_counter() - start) / len(wanted)
        for i, data in zip(wanted, fetched, strict=True):
            found = self._open(namespace, keys[i], data) if data is not None else (False, None)
            results[i] = found
            if found[0] and data is not None:
                self._stats.hit(namespace, elapsed)
                if l1 is not None:
                    self._tier.fill(keys[i], data, found[1], generation)
            else:
                self._stats.miss(namespace, elapsed)
        return results

    def store(
        self, namespace: str, key: str, value: object, ttl: float, *, local: bool = True
    ) -> None:
        self.store_many(namespace, {key: value}, ttl, local=local)

    def store_many(
        self, namespace: str, items: Mapping[str, object], ttl: float, *, local: bool = True
    ) -> None:
        """Write values (best effort: a failure is counted, never raised unless strict)."""
        expires_at = self.clock() + ttl
        header = _HEADER.pack(expires_at)
        encoded: dict[str, bytes] = {}
        for key, value in items.items():
            try:
                encoded[key] = header + self.codec.encode(value)
            except UnserializableValue as exc:
                self._stats.count(namespace, "errors")
                log.error("not caching %s: %s", key, exc)
                if self.strict:
                    raise
        if not encoded:
            return
        self._stats.count(namespace, "sets", len(encoded))
        local_level = self._fast if self._fast is not None else (self.l1 if local else None)
        if local_level is not None:
            local_ttl = ttl if local_level is self._fast else min(ttl, self.l1_ttl)
            for key, data in encoded.items():
                value = items[key]
                memo = value if is_immutable(value) else NO_MEMO
                local_level.put_fast(key, data, local_ttl, memo)
        if self._fast is not None:
            return
        server_ttl = ttl + SERVER_TTL_GRACE
        self._call(namespace, [cmd.set_(k, d, server_ttl) for k, d in encoded.items()])

    def invalidate(self, namespace: str, keys: Sequence[str]) -> None:
        """Delete ``keys`` here, on the server (or journal it), and in every other L1.

        L1 is dropped again after the server call: a read in between may have refilled it.
        """
        if not keys:
            return
        self._stats.count(namespace, "invalidations", len(keys))
        self._tier.drop(keys)
        if self._fast is not None:
            self._fast.delete_fast(keys)
            return
        message = self.codec.encode({"from": self.sender_id, "keys": list(keys)})
        batch = [cmd.delete(*keys), cmd.publish(self.keys.channel, message)]
        if self._call(namespace, batch, tombstones=False) is None:
            self.journal.add_deletes(keys)
        self._tier.drop(keys)

    def clear_namespace(self, namespace: str) -> int:
        """Delete every key of one namespace (``SCAN MATCH`` on a server, never ``KEYS``)."""
        prefix = self.keys.namespace_prefix(namespace)
        pattern = self.keys.namespace_pattern(namespace)
        self._tier.drop_prefix(prefix, pattern)
        if self._fast is not None:
            return self._fast.delete_matching(prefix, pattern)
        deleted: int | None = None
        if self.breaker.allow():
            try:
                deleted = self.backend.delete_matching(prefix, pattern)
            except BackendError as exc:
                self._failed(namespace, exc)
        if deleted is None:
            self.journal.add_clear(namespace)
        self._tier.drop_prefix(prefix, pattern)  # a read in between may have refilled it
        if deleted is None:
            return 0
        self._succeeded()
        message = self.codec.encode({"from": self.sender_id, "prefixes": [prefix]})
        self._call(namespace, [cmd.publish(self.keys.channel, message)], tombstones=False)
        return deleted

    # -- observability and lifecycle -----------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """A plain snapshot for ``GET /api/v1/cache/stats`` and ``qfzz cache stats``."""
        return {
            "backend": self.kind,
            "circuit": self.circuit_state,
            "circuit_opened": self.breaker.opened,
            "journal": len(self.journal),
            "l1_entries": len(self.l1) if self.l1 is not None else None,
            "entries": len(self._fast) if self._fast is not None else None,
            "namespaces": {
                name: s.snapshot() for name, s in sorted(self.namespace_stats().items())
            },
        }

    def namespace_stats(self) -> dict[str, NamespaceStats]:
        return self._stats.copy()

    def count_error(self, namespace: str) -> None:
        self._stats.count(namespace, "errors")

    def wait_for_invalidations(self, count: int, timeout: float = 5.0) -> bool:
        """Block until ``count`` invalidations from other processes have arrived (tests)."""
        with self._heard:
            return self._heard.wait_for(lambda: self.remote_invalidations >= count, timeout)

    def wait_subscribed(self, timeout: float) -> bool:
        """Block until the invalidation bus listens (at once without a bus): tests, probes."""
        return self._bus is None or bool(self._bus.subscribed.wait(timeout))

    def close(self) -> None:
        if self._bus is not None:
            self._bus.close()
        self.backend.close()

    # -- internals -----------------------------------------------------------------------

    def _local(self, namespace: str, level: MemoryBackend, key: str) -> tuple[bool, Any]:
        """Read an in-process level, sharing the decoded value when it is immutable."""
        try:
            got = level.get_memo(key)
        except CacheError as exc:
            self._failed(namespace, exc)
            return False, None
        if got is None:
            return False, None
        data, memo = got
        if memo is not NO_MEMO:
            if _HEADER.unpack_from(data)[0] > self.clock():
                return True, memo
            return False, None
        found, value = self._open(namespace, key, data)
        if found and is_immutable(value):
            level.memoize(key, data, value)
        return found, value

    def _open(self, namespace: str, key: str, data: bytes) -> tuple[bool, Any]:
        """Check the expiry header and decode; a corrupt value counts as an error."""
        try:
            if _HEADER.unpack_from(data)[0] <= self.clock():
                return False, None
            return True, self.codec.decode(data[_HEADER.size :])
        except (CacheError, struct.error) as exc:
            self._stats.count(namespace, "errors")
            log.warning("unreadable cached value under %s: %s", key, exc)
            return False, None

    def _replay(self, todo: JournalContents) -> JournalContents | None:
        """Apply journaled removals; returns what is left if the server fails meanwhile.

        Namespace clears first, then deletes (published, so other L1s drop them too). Each
        is reported to the journal as soon as it is applied, which lifts its tombstones.
        """
        for namespace in sorted(todo.clears):
            if self.clear_namespace(namespace) == 0 and self.breaker.state != "closed":
                return todo
            todo.clears.discard(namespace)
            self.journal.cleared(namespace)
        if todo.deletes:
            keys = sorted(todo.deletes)
            message = self.codec.encode({"from": self.sender_id, "keys": keys})
            batch = [cmd.delete(*keys), cmd.publish(self.keys.channel, message)]
            if self._call("journal", batch, tombstones=False) is None:
                return todo
            todo.deletes.clear()
            self.journal.deleted(keys)
        return None

    def _call(
        self,
        namespace: str,
        commands: Sequence[Command],
        *,
        atomic: bool = True,
        tombstones: bool = True,
    ) -> list[object] | None:
        if tombstones and self.journal.removing and self.journal.blocks(commands, self.keys):
            return None
        ok, replies = self.guarded(namespace, lambda: self.backend.execute(commands, atomic=atomic))
        return replies if ok else None

    def guarded(self, namespace: str, call: Callable[[], T]) -> tuple[bool, T | None]:
        """Run ``call`` against the server behind the circuit breaker.

        ``(False, None)`` when the circuit is open (``call`` is not made) or ``call``
        raised a ``BackendError`` (counted, and fed to the breaker when it is an outage).
        """
        if self._fast is None and not self.breaker.allow():
            self._stats.count(namespace, "skipped")
            return False, None
        try:
            result = call()
        except BackendError as exc:
            self._failed(namespace, exc)
            return False, None
        self._succeeded()
        return True, result

    def _failed(self, namespace: str, exc: CacheError) -> None:
        self._stats.count(namespace, "errors")
        if isinstance(exc, BackendUnavailable):
            self.breaker.failure()
            log.debug("cache server unavailable (%s): %s", namespace, exc)
        else:
            self._succeeded()  # the server answered: it is up, the command was wrong
            log.warning("cache command failed (%s): %s", namespace, exc)

    def _succeeded(self) -> None:
        """A call reached the server: replay the journal if it holds anything.

        Not only when the circuit closes again: a failure below the breaker's threshold
        journals too, and its tombstones must not wait for the next outage to clear.
        """
        if self.breaker.success():
            log.info("cache server reachable again; replaying %d journaled", len(self.journal))
            self._replayer.run(recovered=True)
        elif self.journal.pending:
            self._replayer.run()

    def _on_bus_message(self, data: bytes) -> None:
        message = self.codec.decode(data)
        if message.get("from") == self.sender_id:
            return
        self._tier.drop(message.get("keys", []))
        for prefix in message.get("prefixes", []):
            self._tier.drop_prefix(prefix)
        with self._heard:
            self.remote_invalidations += 1
            self._heard.notify_all()

    def _on_bus_connect(self) -> None:
        """Messages sent while unsubscribed are lost: forget everything local."""
        self._tier.drop_all()
