"""The Redis-protocol backend (Redis, Valkey, DragonflyDB) and its invalidation bus.

Connections are tuned to fail fast instead of hanging a request: a 0.2 s connect and read
timeout, no client-side retries, no ``PING`` before commands (the circuit breaker in front
decides whether to call at all). Errors are translated at this boundary: a connection
problem becomes :class:`BackendUnavailable`, anything else :class:`BackendError`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from qfzz.cache._backend import Backend, Command
from qfzz.cache._errors import BackendError, BackendUnavailable

log = logging.getLogger(__name__)

_OUTAGE = (redis.ConnectionError, redis.TimeoutError, OSError)
T = TypeVar("T")


def connect(url: str, *, timeout: float = 0.2, max_connections: int = 64) -> redis.Redis:
    """A client that never waits long and never retries on its own."""
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        retry_on_timeout=False,
        health_check_interval=0,
        decode_responses=False,
        protocol=2,
        max_connections=max_connections,
    )


def _ttl_ms(ttl: float | None) -> int | None:
    return None if ttl is None else max(1, int(ttl * 1000))


class RedisBackend(Backend):
    """Runs command batches as one pipeline (``MULTI``/``EXEC`` when atomic)."""

    shared = True

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def execute(self, commands: Sequence[Command], *, atomic: bool = True) -> list[object]:
        try:
            if len(commands) == 1 and commands[0].name == "GET":
                return [self.client.get(commands[0].key)]
            pipe = self.client.pipeline(transaction=atomic and len(commands) > 1)
            for command in commands:
                _queue(pipe, command)
            replies = pipe.execute()
        except _OUTAGE as exc:
            raise BackendUnavailable(f"cache server unreachable: {exc}") from exc
        except redis.RedisError as exc:
            raise BackendError(f"cache server refused a command: {exc}") from exc
        return [_normalise(c, r) for c, r in zip(commands, replies, strict=True)]

    def delete_matching(self, prefix: str, pattern: str) -> int:
        """``SCAN MATCH`` in pages, ``DEL`` per page: never ``KEYS`` or ``FLUSHDB``."""
        deleted = 0
        try:
            batch: list[bytes] = []
            for key in self.client.scan_iter(match=pattern, count=1000):
                batch.append(key)
                if len(batch) >= 500:
                    deleted += int(self.client.delete(*batch))
                    batch.clear()
            if batch:
                deleted += int(self.client.delete(*batch))
        except _OUTAGE as exc:
            raise BackendUnavailable(f"cache server unreachable: {exc}") from exc
        except redis.RedisError as exc:
            raise BackendError(f"cache server refused a command: {exc}") from exc
        return deleted

    def call(self, action: Callable[[Any], T]) -> T:
        """Run ``action(client)``, its redis errors translated like those of ``execute``.

        For the subsystems that keep structures of their own on the server (``ServerLink``).
        """
        try:
            return action(self.client)
        except _OUTAGE as exc:
            raise BackendUnavailable(f"cache server unreachable: {exc}") from exc
        except redis.RedisError as exc:
            raise BackendError(f"cache server refused a command: {exc}") from exc

    def close(self) -> None:
        self.client.close()


def _queue(pipe: Any, cmd: Command) -> None:
    name, key, args = cmd.name, cmd.key, cmd.args
    if name == "GET":
        pipe.get(key)
    elif name == "MGET":
        pipe.mget([key, *args])
    elif name == "SET":
        pipe.set(key, args[0], px=_ttl_ms(cmd.ttl))
    elif name == "DEL":
        pipe.delete(key, *args)
    elif name == "PUBLISH":
        pipe.publish(key, args[0])
    else:  # pragma: no cover - the Literal type makes this unreachable
        raise BackendError(f"unsupported command {name}")


def _normalise(cmd: Command, reply: object) -> object:
    """redis-py's replies in the same shapes the embedded backend returns."""
    return bool(reply) if cmd.name == "SET" else reply


class InvalidationBus:
    """Subscribes to one pub/sub channel on a thread and hands messages over: the cache's
    invalidations, or the station's events (``qfzz.cache.EventChannel``).

    The subscriber reconnects with a growing pause after the server goes away. Every
    (re)subscription calls ``on_connect``: messages sent while it was not listening are
    lost, so the owner drops its whole L1 then rather than keep values that may be stale.
    """

    def __init__(
        self,
        client: redis.Redis,
        channel: str,
        on_message: Callable[[bytes], None],
        on_connect: Callable[[], None],
    ) -> None:
        self._client = client
        self._channel = channel
        self._on_message = on_message
        self._on_connect = on_connect
        self._stop = threading.Event()
        self.subscribed = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"qfzz-sub-{channel}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        pause = 0.05
        while not self._stop.is_set():
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
            try:
                pubsub.subscribe(self._channel)
                self._on_connect()
                self.subscribed.set()
                pause = 0.05
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=0.05)
                    if message is not None and message.get("type") == "message":
                        self._deliver(message["data"])
            except Exception as exc:  # the server went away: resubscribe after a pause
                self.subscribed.clear()
                log.debug("subscriber of %s lost its connection: %s", self._channel, exc)
            finally:
                try:
                    pubsub.close()
                except Exception:  # closing a broken connection may fail too
                    log.debug("closing the broken subscriber failed", exc_info=True)
            self._stop.wait(pause)
            pause = min(pause * 2, 2.0)

    def _deliver(self, data: bytes) -> None:
        try:
            self._on_message(data)
        except Exception:  # a bad message must not end the subscriber
            log.exception("a message on %s could not be applied", self._channel)
