"""A small map every process of a station reads and writes (a Redis hash).

For state that is short-lived, small and wanted whole by every process — who is playing
what now (Subsonic ``getNowPlaying``) — rather than looked up by key: one hash on the
cache server, fields written and removed one at a time, read whole.
"""

from __future__ import annotations

from qfzz.cache._core import Cache
from qfzz.cache._link import required_link

_NAMESPACE = "map"


class SharedMap:
    """``put(field, value)``, ``remove(field)``, ``items()``: bytes, on the cache server."""

    def __init__(self, cache: Cache, name: str) -> None:
        link = required_link(cache, _NAMESPACE, "a shared map")
        self._link = link
        self.key = link.key(name)

    def put(self, field: str, value: bytes) -> bool:
        key = self.key
        ok, _ = self._link.call(lambda c: c.hset(key, field, value))
        return ok

    def remove(self, fields: list[str]) -> bool:
        if not fields:
            return True
        key = self.key
        ok, _ = self._link.call(lambda c: c.hdel(key, *fields))
        return ok

    def items(self) -> dict[str, bytes] | None:
        """Every field (None: the server is unreachable)."""
        key = self.key
        ok, found = self._link.call(lambda c: c.hgetall(key))
        if not ok or found is None:
            return None
        return {
            (k.decode() if isinstance(k, bytes) else str(k)): bytes(v) for k, v in found.items()
        }
