"""A station's event channel: messages to every other process of the station.

Several processes serving one station (``qfzz serve --workers N``, or several hosts) tell
each other what changed — a listener's feedback, tracks scanned — on a pub/sub channel of
the cache's server. Pub/sub keeps nothing: a process that is not subscribed at the moment a
message is sent never gets it. So ``listen`` takes an ``on_connect`` hook that runs at every
(re)subscription, before any message of that subscription, where the owner reads what it
may have missed from the store (the source of truth). Publishing goes through the cache's
circuit breaker: with the server down nothing is sent, and the receivers' reconnect hook
catches them up once it is back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from qfzz.cache._core import Cache
from qfzz.cache._link import required_link, server_link

#: Under the cache's prefix: ``<prefix>events:<topic>``.
_NAMESPACE = "events"


class Subscription(Protocol):
    """A subscriber running on its own thread until closed."""

    @property
    def subscribed(self) -> Any:  # a threading.Event: set while subscribed
        ...

    def close(self) -> None: ...


class EventChannel:
    """Publish bytes to, and listen for bytes from, the other processes on one topic."""

    def __init__(self, cache: Cache, topic: str) -> None:
        link = required_link(cache, _NAMESPACE, "an event channel")
        self._cache = cache
        self._link = link
        self.channel = link.key(topic)

    def publish(self, data: bytes) -> bool:
        """Send ``data`` to every process subscribed now; False when it could not be sent
        (the server is down or the circuit open): the receivers catch up on reconnect."""
        channel = self.channel
        sent, _ = self._link.call(lambda client: client.publish(channel, data))
        return sent

    def listen(
        self, on_message: Callable[[bytes], None], on_connect: Callable[[], None]
    ) -> Subscription:
        """Call ``on_message`` with each message from now on, on the subscriber's thread;
        ``on_connect`` at each (re)subscription. Close the subscription to stop."""
        subscribe = self._cache.subscriber
        if subscribe is None:
            raise ValueError("this cache cannot subscribe (no server)")
        subscription: Subscription = subscribe(self.channel, on_message, on_connect)
        return subscription


def event_channel(cache: Cache, topic: str) -> EventChannel | None:
    """The station's channel for ``topic``, or None for the embedded cache (one process:
    nobody else to tell)."""
    if server_link(cache, _NAMESPACE) is None:
        return None
    return EventChannel(cache, topic)
