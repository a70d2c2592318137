"""The cache layer: embedded by default, Redis / Valkey / DragonflyDB when configured.

This package is the only place in QFZZ that imports ``redis``. ``open_cache(url)`` gives
a :class:`Cache`: with ``url=None`` an in-process, bounded, TTL'd store; with
``redis://…`` a small per-process L1 in front of the shared server, with invalidations
sent between processes over pub/sub and a circuit breaker that stops calling a server
that is down (removals wait in a journal and are replayed).

The typed services on top each own a namespace and a TTL and load from the store on a
miss, because **the store is the source of truth**: a cache problem is counted and
logged, never raised to a request. ``CacheServices.build(cache)`` makes them all::

    cache = open_cache(settings.cache_url, clock=clock)
    caches = CacheServices.build(cache)
    track = caches.tracks.get(track_id, store.tracks.get)

``server_link(cache, namespace)`` lends the server (behind the same breaker) to a
subsystem with structures of its own there: the job queues of ``qfzz.jobs``.
``event_channel(cache, topic)`` carries a station's events between its processes.
"""

from __future__ import annotations

from qfzz.cache._backend import Backend, Command
from qfzz.cache._breaker import CircuitBreaker, CircuitState
from qfzz.cache._channel import EventChannel, Subscription, event_channel
from qfzz.cache._codec import DEFAULT_TYPES, Codec
from qfzz.cache._core import Cache
from qfzz.cache._errors import (
    BackendError,
    BackendUnavailable,
    CacheError,
    CorruptValue,
    UnknownNamespace,
    UnserializableValue,
)
from qfzz.cache._factory import open_cache
from qfzz.cache._keys import Keyspace, normalise_query, search_digest, stable_digest, token_digest
from qfzz.cache._link import ServerLink, server_link
from qfzz.cache._memory import MemoryBackend
from qfzz.cache._metrics import CacheCollector
from qfzz.cache._packet_log import NEWEST, PacketLog
from qfzz.cache._presence import Presence
from qfzz.cache._services import CacheServices
from qfzz.cache._shared_map import SharedMap
from qfzz.cache._types import JobProgress, Session
from qfzz.cache._values import (
    JobProgressCache,
    PlaylistCache,
    SearchCache,
    SessionCache,
    TrackCache,
)

__all__ = [
    "DEFAULT_TYPES",
    "NEWEST",
    "Backend",
    "BackendError",
    "BackendUnavailable",
    "Cache",
    "CacheCollector",
    "CacheError",
    "CacheServices",
    "CircuitBreaker",
    "CircuitState",
    "Codec",
    "Command",
    "CorruptValue",
    "EventChannel",
    "JobProgress",
    "JobProgressCache",
    "Keyspace",
    "MemoryBackend",
    "PacketLog",
    "PlaylistCache",
    "Presence",
    "SearchCache",
    "ServerLink",
    "Session",
    "SessionCache",
    "SharedMap",
    "Subscription",
    "TrackCache",
    "UnknownNamespace",
    "UnserializableValue",
    "event_channel",
    "normalise_query",
    "open_cache",
    "search_digest",
    "server_link",
    "stable_digest",
    "token_digest",
]
