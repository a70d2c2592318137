"""The backend interface: a tiny vocabulary of Redis commands, run as one batch.

Like an httpx transport, a backend does one thing: run a batch of commands and return
their replies. The vocabulary is the subset of commands that Redis, Valkey and DragonflyDB
all implement (no Lua, no ``KEYS``, no ``FLUSHDB``, no ``UNLINK``), so every cache service
is written once and runs unchanged on the embedded backend, which emulates exactly these
commands in process, and on a Redis-protocol server. Tests may implement a backend of
their own (for instance one that fails on demand).

Replies follow Redis with ``decode_responses=False``: ``bytes`` for values, ``int`` for
counts, ``list[bytes]`` for ``LRANGE``/``MGET``, ``set[bytes]`` for ``SMEMBERS``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

CommandName = Literal[
    "GET",
    "MGET",
    "SET",
    "DEL",
    "EXISTS",
    "EXPIRE",
    "INCRBY",
    "LPUSH",
    "RPUSH",
    "LREM",
    "LTRIM",
    "LRANGE",
    "LINDEX",
    "SADD",
    "SREM",
    "SMEMBERS",
    "SISMEMBER",
    "PUBLISH",
]

Value = bytes | int | str


@dataclass(frozen=True, slots=True)
class Command:
    """One command. ``ttl`` (seconds) and ``nx`` only mean something for ``SET``/``EXPIRE``."""

    name: CommandName
    key: str
    args: tuple[Value, ...] = ()
    ttl: float | None = None
    nx: bool = False


def get(key: str) -> Command:
    return Command("GET", key)


def mget(keys: Sequence[str]) -> Command:
    return Command("MGET", keys[0], tuple(keys[1:]))


def set_(key: str, value: bytes, ttl: float | None = None, *, nx: bool = False) -> Command:
    return Command("SET", key, (value,), ttl, nx)


def delete(*keys: str) -> Command:
    return Command("DEL", keys[0], tuple(keys[1:]))


def exists(key: str) -> Command:
    return Command("EXISTS", key)


def expire(key: str, ttl: float) -> Command:
    return Command("EXPIRE", key, ttl=ttl)


def incrby(key: str, amount: int) -> Command:
    return Command("INCRBY", key, (amount,))


def lpush(key: str, *values: bytes) -> Command:
    return Command("LPUSH", key, values)


def rpush(key: str, *values: bytes) -> Command:
    return Command("RPUSH", key, values)


def lrem(key: str, count: int, value: bytes) -> Command:
    return Command("LREM", key, (count, value))


def ltrim(key: str, start: int, stop: int) -> Command:
    return Command("LTRIM", key, (start, stop))


def lrange(key: str, start: int, stop: int) -> Command:
    return Command("LRANGE", key, (start, stop))


def lindex(key: str, index: int) -> Command:
    return Command("LINDEX", key, (index,))


def sadd(key: str, *members: bytes) -> Command:
    return Command("SADD", key, members)


def srem(key: str, *members: bytes) -> Command:
    return Command("SREM", key, members)


def smembers(key: str) -> Command:
    return Command("SMEMBERS", key)


def sismember(key: str, member: bytes) -> Command:
    return Command("SISMEMBER", key, (member,))


def publish(channel: str, message: bytes) -> Command:
    return Command("PUBLISH", channel, (message,))


class Backend:
    """Base class of the cache backends (embedded and Redis protocol)."""

    #: True when several processes see the same data (they then need L1 invalidations).
    shared: bool = False

    def execute(self, commands: Sequence[Command], *, atomic: bool = True) -> list[object]:
        """Run ``commands`` in order and return one reply each.

        With ``atomic`` the batch runs as a ``MULTI``/``EXEC`` transaction: no other
        client's command runs in between. Raises ``BackendUnavailable`` when the server
        cannot be reached and ``BackendError`` when it refuses a command.
        """
        raise NotImplementedError

    def delete_matching(self, prefix: str, pattern: str) -> int:
        """Delete every key starting with ``prefix`` (``pattern`` is its SCAN glob)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections; the default has none."""
