"""Short-lived marks on the cache server that say "someone here wants this".

The process making a shared mount learns which (codec, bitrate) any process has listeners
for: each process marks what it wants, again and again before the mark runs out, and the
maker lists the marks. A process that dies simply stops marking.
"""

from __future__ import annotations

from urllib.parse import unquote

from qfzz.cache._core import Cache
from qfzz.cache._keys import prefix_pattern
from qfzz.cache._link import required_link

_NAMESPACE = "presence"


class Presence:
    """Marks under one topic: ``mark(item, ttl=…, holder=…)``; ``items()`` marked by any."""

    def __init__(self, cache: Cache, topic: str) -> None:
        link = required_link(cache, _NAMESPACE, "presence marks")
        self._link = link
        self._topic = topic
        self._prefix = link.key(topic, "x")[:-1]  # every mark of the topic starts so

    def mark(self, item: str, *, ttl: float, holder: str) -> bool:
        """Say ``holder`` wants ``item`` for the next ``ttl`` seconds (the server's time)."""
        key = self._link.key(self._topic, item, holder)
        ok, _ = self._link.call(lambda c: c.set(key, b"1", px=max(1, int(ttl * 1000))))
        return ok

    def items(self) -> set[str] | None:
        """Everything someone wants now (None: the server is unreachable)."""
        prefix = self._prefix
        pattern = prefix_pattern(prefix)
        ok, keys = self._link.call(lambda c: list(c.scan_iter(match=pattern, count=500)))
        if not ok or keys is None:
            return None
        found = set()
        for key in keys:
            text = key.decode() if isinstance(key, bytes) else str(key)
            found.add(unquote(text[len(prefix) :].split(":", 1)[0]))
        return found
