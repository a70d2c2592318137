"""A bounded log on the cache server that many processes append to and read from.

A broadcast mount's encoded audio is made once in the station (by the process holding the
mount's lease) and heard through every process: the maker appends each packet to a log —
a Redis Stream, trimmed to the last few thousand entries — and every process reads it
from where it is, waiting on the server for what comes next (``XREAD BLOCK``). Unlike
pub/sub, a log keeps its recent past: a process that starts listening reads the last
seconds first (a new listener's burst), and one whose connection dropped goes on from the
last entry it read, missing nothing the log still holds.

Appends go through the cache's circuit breaker like every other call; reads wait on a
client of their own (``Cache.blocking``), whose timeout outlasts the wait.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qfzz.cache._core import Cache
from qfzz.cache._errors import BackendError
from qfzz.cache._link import required_link

_NAMESPACE = "log"
#: Where a reader starts that has read nothing: only what comes next.
NEWEST = "$"

Entry = tuple[str, dict[str, bytes]]


class PacketLog:
    """One named log: ``append`` records of byte fields, ``tail`` the latest, ``read``
    what came after an entry id (waiting up to ``wait`` seconds for one)."""

    def __init__(self, cache: Cache, name: str, *, maxlen: int) -> None:
        link = required_link(cache, _NAMESPACE, "a packet log")
        if cache.blocking is None:
            raise ValueError("a packet log needs a cache server (redis://…)")
        if maxlen < 1:
            raise ValueError("maxlen must be at least 1")
        self._link = link
        self._blocking = cache.blocking
        self.key = link.key(name)
        self.maxlen = maxlen

    def append(self, fields: Mapping[str, bytes]) -> str | None:
        """Add a record; its entry id, or None when the server could not be reached."""
        key, maxlen = self.key, self.maxlen
        ok, found = self._link.call(
            lambda client: client.xadd(key, dict(fields), maxlen=maxlen, approximate=True)
        )
        return _text(found) if ok and found is not None else None

    def tail(self, count: int) -> list[Entry] | None:
        """The latest ``count`` records, oldest first (None: the server is unreachable)."""
        key = self.key
        ok, found = self._link.call(lambda client: client.xrevrange(key, count=count))
        if not ok or found is None:
            return None
        return [_entry(item) for item in reversed(found)]

    def read(self, after: str, *, wait: float, count: int = 256) -> list[Entry] | None:
        """Records after the entry id ``after`` (``NEWEST``: only those still to come),
        waiting up to ``wait`` seconds for the first; [] if none came, None when the server
        could not be reached (the caller waits a little and reads again)."""
        key, block = self.key, max(1, int(wait * 1000))
        try:
            found = self._blocking(
                lambda client: client.xread({key: after}, count=count, block=block)
            )
        except BackendError:
            return None
        if not found:
            return []
        return [_entry(item) for item in found[0][1]]

    def clear(self) -> None:
        """Drop the whole log (a mount's maker starting a new one)."""
        key = self.key
        self._link.call(lambda client: client.delete(key))


def _entry(item: Any) -> Entry:
    entry_id, fields = item
    return _text(entry_id), {_text(k): bytes(v) for k, v in fields.items()}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
