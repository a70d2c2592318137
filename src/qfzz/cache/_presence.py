"""Short-lived marks on the cache server that say "someone here wants this".

The process making a shared mount learns which (codec, bitrate) any process has listeners
for: each process marks what it wants, again and again before the mark runs out, and the
maker lists the marks. A process that dies simply stops marking.

A topic's marks are one sorted set, each member scored by the moment it runs out (the
server's clock, read inside the script, so hosts whose clocks differ agree): marking and
listing cost the topic's few members, never a walk over the server's whole keyspace —
which a key per mark would need (``SCAN``), every second in every process.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

from qfzz.cache._core import Cache
from qfzz.cache._link import required_link

_NAMESPACE = "presence"

# KEYS[1] the topic; ARGV[1] the member, ARGV[2] its lifetime in ms. The set itself lives
# as long as its longest mark, so a topic nobody marks any more leaves nothing behind.
_MARK = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], ms + ttl, ARGV[1])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
"""
# KEYS[1] the topic: its marks that have not run out (the rest are removed).
_LIVE = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms)
return redis.call('ZRANGE', KEYS[1], 0, -1)
"""


class Presence:
    """Marks under one topic: ``mark(item, ttl=…, holder=…)``; ``items()`` marked by any."""

    def __init__(self, cache: Cache, topic: str) -> None:
        self._link = required_link(cache, _NAMESPACE, "presence marks")
        self._key = self._link.key(topic)

    def mark(self, item: str, *, ttl: float, holder: str) -> bool:
        """Say ``holder`` wants ``item`` for the next ``ttl`` seconds (the server's time)."""
        member = f"{quote(item, safe='')} {quote(holder, safe='')}"
        lifetime = max(1, int(ttl * 1000))
        ok, _ = self._link.call(lambda c: c.eval(_MARK, 1, self._key, member, lifetime))
        return ok

    def items(self) -> set[str] | None:
        """Everything someone wants now (None: the server is unreachable)."""
        ok, members = self._link.call(lambda c: c.eval(_LIVE, 1, self._key))
        if not ok or members is None:
            return None
        found = set()
        for member in members:
            text = member.decode() if isinstance(member, bytes) else str(member)
            found.add(unquote(text.partition(" ")[0]))
        return found
