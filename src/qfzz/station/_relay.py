"""The station's events between its processes: what one learned, the others hear.

Several processes can serve one station (``qfzz serve --workers N``, or hosts behind a load
balancer) on one PostgreSQL and one Redis-protocol server. The store and the shared cache
are common to all, but each process owns state in memory that the store only feeds: its
catalog index and its listeners' live profiles. The relay keeps those in step:

* the interactions each group commit stored here are told to the others (one message per
  commit, with their ids, before any of their callers is answered), which learn them into
  the listeners' profiles they hold (``ProfileBook.learn_elsewhere``: a profile whose load
  already read an id does not learn it twice), count the plays in their index, and
  re-choose the listener's radio queue after a skip or a dislike — as the process that
  stored them did;
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
import math
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeGuard

from qfzz.cache import EventChannel, Subscription
from qfzz.models import Interaction, InteractionType
from qfzz.station._catalog import Catalog
from qfzz.station._events import Events, TracksChanged, Unsubscribe
from qfzz.station._profiles import ProfileBook
from qfzz.store import InteractionRepository

log = logging.getLogger(__name__)

#: Ids a tracks message may carry; a bigger change is told as "reload if changed".
MAX_IDS = 10_000
#: Interactions one message carries (a bigger group commit is told in several).
MAX_ROWS = 500
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
        interactions: InteractionRepository,
        profiles: ProfileBook,
        catalog: Catalog,
        taste_changed: Callable[[str], None],
        votes: Callable[[Sequence[tuple[int, Interaction]]], None] | None = None,
    ) -> None:
        self._channel = channel
        self._events = events
        interactions.listen_commits(self._told_commits)
        self._profiles = profiles
        self._catalog = catalog
        self._taste_changed = taste_changed
        #: The trust ledger's hook for committed rows: votes cast through other processes
        #: count here too (a gap in the ids makes it read the log instead).
        self._votes = votes
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
        self._unsubscribe = [self._events.listen("tracks_changed", self._told_tracks)]
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

    def _told_commits(self, rows: Sequence[tuple[int, Interaction]]) -> None:
        """A group commit's rows (on the writer's thread, before its callers are answered)."""
        if self._subscription is None:  # not (or no longer) serving with the others
            return
        for start in range(0, len(rows), MAX_ROWS):
            self._publish(
                {
                    "kind": "interactions",
                    "rows": [
                        [n, i.user_id, i.track_id, i.type.value, i.rating, i.created_at]
                        for n, i in rows[start : start + MAX_ROWS]
                    ],
                }
            )

    def _told_tracks(self, event: TracksChanged) -> None:
        if event.elsewhere:  # applied from another process's message: it told everyone
            return
        if event.everything or len(event.changed) + len(event.removed) > MAX_IDS:
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
        if kind == "interactions":
            applied = self._interactions(message)
        elif kind == "tracks":
            applied = self._tracks(message)
        else:
            log.warning("ignored a message of unknown kind %r", str(kind)[:40])
            return
        if not applied:
            return
        with self._heard:
            self.received += 1
            self._heard.notify_all()

    def _interactions(self, message: dict[str, Any]) -> bool:
        rows = _interaction_rows(message.get("rows"))
        if rows is None:
            log.warning("ignored a malformed interactions message")
            return False
        self._profiles.learn_elsewhere(rows)
        if self._votes is not None:
            self._votes(rows)
        plays = [i.track_id for _, i in rows if i.type is InteractionType.PLAY]
        if plays:
            self._catalog.view.add_plays(plays)
        for user in {i.user_id for _, i in rows if i.type in _RECHOOSE}:
            self._taste_changed(user)
        return True

    def _tracks(self, message: dict[str, Any]) -> bool:
        if message.get("all") is True:
            self._catalog.catch_up()
            return True
        changed, removed = message.get("changed"), message.get("removed")
        if not _are_ids(changed) or not _are_ids(removed):
            log.warning("ignored a malformed tracks message")
            return False
        self._catalog.reindex(changed, removed, elsewhere=True)
        return True

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


def _interaction_rows(value: object) -> list[tuple[int, Interaction]] | None:
    """``[[id, user, track, type, rating, created_at], …]`` checked field by field."""
    if not isinstance(value, list) or len(value) > MAX_ROWS:
        return None
    rows = []
    for row in value:
        if not isinstance(row, list) or len(row) != 6:
            return None
        n, user, track, kind, rating, at = row
        valid = (
            _is_id(n)
            and isinstance(user, str)
            and 0 < len(user) <= 64
            and _is_id(track)
            and kind in _TYPES
            and (rating is None or (_is_number(rating) and 0 <= rating <= 1))
            and _is_number(at)
        )
        if not valid:
            return None
        rows.append((n, Interaction(user, track, _TYPES[kind], rating, float(at))))
    return rows


def _is_number(value: object) -> TypeGuard[int | float]:
    return type(value) in (int, float) and math.isfinite(value)  # type: ignore[arg-type]


def _is_id(value: object) -> TypeGuard[int]:
    return type(value) is int and 0 < value < 2**63


def _are_ids(value: object) -> TypeGuard[list[int]]:
    return isinstance(value, list) and len(value) <= MAX_IDS and all(_is_id(v) for v in value)
