"""The station's events between its processes: what one learned, the others hear.

Several processes can serve one station (``qfzz serve --workers N``, or hosts behind a load
balancer) on one PostgreSQL and one Redis-protocol server. The store and the shared cache
are common to all, but each process owns state in memory that the store only feeds: its
catalog index and its listeners' live profiles. The relay keeps those in step:

* a listener's interaction stored here is told to the others, which drop their copy of the
  listener's profile (the next use loads it from the store, the interaction included),
  count the play in their index, and re-choose the listener's radio queue after a skip or
  a dislike — as the process that stored it did;
* tracks changed here (scan, import, off air) are told as ids, and the others re-read
  those tracks from the store into their index (a change too big for a message is told as
  "everything": they reload the index if the store's tracks moved on).

Pub/sub keeps nothing, so a process that was not subscribed when a message went out never
hears it. At every (re)subscription the relay therefore catches up from the store: it drops
every profile it holds and reloads the index if the tracks changed meanwhile
(``Catalog.catch_up``). Messages are JSON, bounded and checked like any input: a Redis
shared with something else must not be able to crash or stall a station.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any, TypeGuard

from qfzz.cache import EventChannel, Subscription
from qfzz.models import InteractionType
from qfzz.station._catalog import Catalog
from qfzz.station._events import Events, InteractionRecorded, TracksChanged, Unsubscribe
from qfzz.station._profiles import ProfileBook

log = logging.getLogger(__name__)

#: Ids a tracks message may carry; a bigger change is told as "reload if changed".
MAX_IDS = 10_000
#: Bytes a received message may have (10,000 ids of 10 digits, and room).
MAX_MESSAGE = 256 * 1024
_TYPES = {t.value: t for t in InteractionType}
_RECHOOSE = (InteractionType.SKIP, InteractionType.DISLIKE)


class EventRelay:
    """Publishes this process's events on the station's channel and applies the others'."""

    def __init__(
        self,
        channel: EventChannel,
        events: Events,
        *,
        profiles: ProfileBook,
        catalog: Catalog,
        taste_changed: Callable[[str], None],
    ) -> None:
        self._channel = channel
        self._events = events
        self._profiles = profiles
        self._catalog = catalog
        self._taste_changed = taste_changed
        #: This process, so that it skips its own messages.
        self.origin = uuid.uuid4().hex
        self._unsubscribe: list[Unsubscribe] = []
        self._subscription: Subscription | None = None
        #: Messages applied from other processes, and catch-ups done (for /metrics, tests).
        self.received = 0
        self.catch_ups = 0
        self._heard = threading.Condition()

    def start(self) -> None:
        """Tell the others from now on, and listen (the first subscription catches up)."""
        if self._subscription is not None:
            return
        self._unsubscribe = [
            self._events.listen("interaction_recorded", self._told_interaction),
            self._events.listen("tracks_changed", self._told_tracks),
        ]
        self._subscription = self._channel.listen(self._receive, self._catch_up)

    def stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None

    def wait_received(self, count: int, timeout: float) -> bool:
        """Block until ``count`` messages of other processes have been applied (tests)."""
        with self._heard:
            return self._heard.wait_for(lambda: self.received >= count, timeout)

    def wait_subscribed(self, timeout: float) -> bool:
        """Block until the relay listens (tests, start-up probes)."""
        return self._subscription is not None and bool(self._subscription.subscribed.wait(timeout))

    # -- this process → the others ---------------------------------------------------------

    def _told_interaction(self, event: InteractionRecorded) -> None:
        interaction = event.interaction
        self._publish(
            {
                "kind": "interaction",
                "user": interaction.user_id,
                "track": interaction.track_id,
                "type": interaction.type.value,
            }
        )

    def _told_tracks(self, event: TracksChanged) -> None:
        if event.elsewhere:  # applied from another process's message: it told everyone
            return
        if len(event.changed) + len(event.removed) > MAX_IDS:
            self._publish({"kind": "tracks", "all": True})
        else:
            self._publish(
                {"kind": "tracks", "changed": list(event.changed), "removed": list(event.removed)}
            )

    def _publish(self, message: dict[str, Any]) -> None:
        message["from"] = self.origin
        if not self._channel.publish(json.dumps(message, separators=(",", ":")).encode()):
            # The others catch up when their subscription comes back; if theirs never
            # broke (only our sending did), they keep what they had until then.
            log.warning("could not tell the station's other processes: %s", message["kind"])

    # -- the others → this process ---------------------------------------------------------

    def _receive(self, data: bytes) -> None:
        message = _parsed(data)
        if message is None:
            log.warning("ignored a malformed message on %s", self._channel.channel)
            return
        if message.get("from") == self.origin:
            return
        kind = message.get("kind")
        if kind == "interaction":
            self._interaction(message)
        elif kind == "tracks":
            self._tracks(message)
        else:
            log.warning("ignored a message of unknown kind %r", kind)
            return
        with self._heard:
            self.received += 1
            self._heard.notify_all()

    def _interaction(self, message: dict[str, Any]) -> None:
        user, track, kind = message.get("user"), message.get("track"), message.get("type")
        if not isinstance(user, str) or not _is_id(track) or kind not in _TYPES:
            log.warning("ignored a malformed interaction message")
            return
        self._profiles.forget([user])
        if _TYPES[kind] is InteractionType.PLAY:
            self._catalog.view.add_plays([track])
        if _TYPES[kind] in _RECHOOSE:
            self._taste_changed(user)

    def _tracks(self, message: dict[str, Any]) -> None:
        if message.get("all") is True:
            self._catalog.catch_up()
            return
        changed, removed = message.get("changed"), message.get("removed")
        if not _are_ids(changed) or not _are_ids(removed):
            log.warning("ignored a malformed tracks message")
            return
        self._catalog.reindex(changed, removed, elsewhere=True)

    def _catch_up(self) -> None:
        """Subscribed (again): whatever was told meanwhile is lost, so read the store."""
        self._profiles.forget_all()
        reloaded = self._catalog.catch_up()
        self.catch_ups += 1
        log.info("caught up with the station's other processes (index reloaded: %s)", reloaded)


def _parsed(data: bytes) -> dict[str, Any] | None:
    if len(data) > MAX_MESSAGE:
        return None
    try:
        message = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    return message if isinstance(message, dict) else None


def _is_id(value: object) -> TypeGuard[int]:
    return type(value) is int and 0 < value < 2**63


def _are_ids(value: object) -> TypeGuard[list[int]]:
    return isinstance(value, list) and len(value) <= MAX_IDS and all(_is_id(v) for v in value)
