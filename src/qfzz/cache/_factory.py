"""``open_cache``: the one way the application builds a cache from its settings."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from qfzz.cache._breaker import CircuitBreaker
from qfzz.cache._codec import DEFAULT_TYPES, Codec
from qfzz.cache._core import Cache, Clock
from qfzz.cache._keys import Keyspace
from qfzz.cache._memory import MemoryBackend


def open_cache(
    url: str | None = None,
    *,
    clock: Clock = time.time,
    prefix: str = "qfzz:",
    strict: bool = False,
    max_entries: int = 100_000,
    l1_entries: int = 10_000,
    l1_ttl: float = 10.0,
    timeout: float = 0.2,
    failure_threshold: int = 3,
    types: Iterable[type] = (),
) -> Cache:
    """Open the embedded cache (``url`` None) or L1 + a Redis-protocol server.

    ``url`` is ``redis://[:password@]host:port/db`` (``rediss://`` for TLS, ``unix://``
    for a socket); Valkey and DragonflyDB are addressed the same way. Nothing is sent to
    the server here: a server that is down only opens the circuit on first use.
    ``strict`` makes unserializable values raise (for tests).
    ``types`` registers further frozen dataclasses or enums with the codec.
    ``l1_entries=0`` turns the per-process L1 off (every read goes to the server).
    """
    codec = Codec((*DEFAULT_TYPES, *types))
    keys = Keyspace(prefix)
    breaker = CircuitBreaker(clock, failure_threshold=failure_threshold)
    if url is None or url in ("", "memory", "memory://"):
        return Cache(
            MemoryBackend(clock, max_entries=max_entries),
            clock=clock,
            keys=keys,
            codec=codec,
            breaker=breaker,
            strict=strict,
        )
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(f"unsupported cache URL {url!r}: use redis://host:port/db")
    from qfzz.cache._redis import InvalidationBus, RedisBackend, connect

    client = connect(url, timeout=timeout)
    bus_client = connect(url, timeout=max(timeout, 1.0), max_connections=4)
    # blocking reads wait up to a second on the server: a client whose timeout allows it
    slow_client = connect(url, timeout=max(timeout, 3.0), max_connections=32)

    def blocking(action: Callable[[Any], Any]) -> Any:
        return RedisBackend(slow_client).call(action)

    def bus(
        channel: str, on_message: Callable[[bytes], None], on_connect: Callable[[], None]
    ) -> InvalidationBus:
        return InvalidationBus(bus_client, channel, on_message, on_connect)

    return Cache(
        RedisBackend(client),
        clock=clock,
        keys=keys,
        codec=codec,
        l1=MemoryBackend(clock, max_entries=l1_entries) if l1_entries > 0 else None,
        l1_ttl=l1_ttl,
        breaker=breaker,
        bus=bus,
        blocking=blocking,
        strict=strict,
    )
