"""The backend interface: a tiny vocabulary of Redis commands, run as one batch.

Like an httpx transport, a backend does one thing: run a batch of commands and return
their replies. The vocabulary is what the cache services need, all commands that Redis,
Valkey and DragonflyDB implement (no Lua, no ``KEYS``, no ``FLUSHDB``, no ``UNLINK``), so
every service is written once and runs unchanged on the embedded backend, which emulates
exactly these commands in process, and on a Redis-protocol server. Tests may implement a
backend of their own (for instance one that fails on demand).

Replies follow Redis with ``decode_responses=False``: ``bytes`` (or ``None``) for
``GET``, ``list[bytes | None]`` for ``MGET``, ``True`` for ``SET``, counts for ``DEL``
and ``PUBLISH``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

CommandName = Literal["GET", "MGET", "SET", "DEL", "PUBLISH"]

Value = bytes | int | str


@dataclass(frozen=True, slots=True)
class Command:
    """One command. ``ttl`` (seconds) only means something for ``SET``."""

    name: CommandName
    key: str
    args: tuple[Value, ...] = ()
    ttl: float | None = None


def get(key: str) -> Command:
    return Command("GET", key)


def mget(keys: Sequence[str]) -> Command:
    return Command("MGET", keys[0], tuple(keys[1:]))


def set_(key: str, value: bytes, ttl: float | None = None) -> Command:
    return Command("SET", key, (value,), ttl)


def delete(*keys: str) -> Command:
    return Command("DEL", keys[0], tuple(keys[1:]))


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
