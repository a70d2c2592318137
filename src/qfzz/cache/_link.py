"""The cache's server, lent to a subsystem that keeps structures of its own there.

The job queues of ``qfzz.jobs`` keep their lists and hashes on the same Redis-protocol
server as the cache. They borrow it through a :class:`ServerLink` instead of opening a
connection of their own, so one circuit breaker (the cache's) decides whether the server
is up, a server that is down is not called at all, and redis errors are translated here:
``redis`` stays a dependency of this package alone, and ``qfzz.jobs`` never sees it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from qfzz.cache._core import Cache

if TYPE_CHECKING:
    from qfzz.cache._redis import RedisBackend

T = TypeVar("T")


class ServerLink:
    """Calls on the cache's server client behind the cache's circuit breaker.

    ``call`` answers ``(True, result)``, or ``(False, None)`` when the circuit is open or
    the server failed (counted under ``namespace`` in the cache's stats, an outage fed to
    the breaker). Hooks given to ``on_recovery`` run once the server is back and the
    cache's journal has been replayed.
    """

    def __init__(self, cache: Cache, backend: RedisBackend, namespace: str) -> None:
        self._cache = cache
        self._backend = backend
        self.namespace = namespace

    def key(self, *parts: str | int) -> str:
        """A key of this link's namespace, under the cache's prefix."""
        return self._cache.keys.key(self.namespace, *parts)

    def call(self, action: Callable[[Any], T]) -> tuple[bool, T | None]:
        backend = self._backend
        return self._cache.guarded(self.namespace, lambda: backend.call(action))

    def on_recovery(self, hook: Callable[[], None]) -> None:
        self._cache.recovery_hooks.append(hook)


def server_link(cache: Cache, namespace: str) -> ServerLink | None:
    """The server of ``cache`` for keys under ``namespace``; None when it has no server.

    The embedded cache (and a backend a test made up) has no server to lend: callers then
    keep everything in their own durable store.
    """
    if cache.kind == "embedded":
        return None
    from qfzz.cache._redis import RedisBackend  # only a cache with a server loads redis

    backend = cache.backend
    return ServerLink(cache, backend, namespace) if isinstance(backend, RedisBackend) else None


def required_link(cache: Cache, namespace: str, what: str) -> ServerLink:
    """``server_link``, for a structure that exists only on a server: ``what`` (its name,
    for the error) cannot be made on the embedded cache."""
    link = server_link(cache, namespace)
    if link is None:
        raise ValueError(f"{what} needs a cache server (redis://…)")
    return link
