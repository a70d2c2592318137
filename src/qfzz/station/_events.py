"""What happened in the station, as typed events (beets' ``plugins.send``, typed).

An event has a ``Literal`` name and a frozen payload; ``listen`` is overloaded per name,
so a handler's parameter type is checked against the event it subscribes to. Handlers run
synchronously after the change is durable; one that fails is logged and skipped, because a
faulty observer (metrics, a cache) must never undo or block a stored change.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, overload

from qfzz.dj import TrackFeatures
from qfzz.edge import StreamingParams
from qfzz.models import Interaction

log = logging.getLogger(__name__)

Unsubscribe = Callable[[], None]
EventName = Literal[
    "interaction_recorded", "tracks_changed", "device_changed", "playlist_generated"
]


@dataclass(frozen=True, slots=True)
class InteractionRecorded:
    """A listener's interaction was stored (and learned)."""

    interaction: Interaction
    features: TrackFeatures


@dataclass(frozen=True, slots=True)
class TracksChanged:
    """Tracks were added or changed (scan, import, taken off air) or removed."""

    changed: tuple[int, ...]
    removed: tuple[int, ...]
    #: Changed by another process of the station (told over its event channel): not to be
    #: told again.
    elsewhere: bool = False
    #: Any track may have changed (a redone scan: the first hand-out's worker may have
    #: stored files it never told of): every process reads the index again if it moved.
    everything: bool = False


@dataclass(frozen=True, slots=True)
class DeviceChanged:
    """A device was registered or re-optimised; ``params`` is what its streams now use."""

    device_id: str
    user_id: str | None
    params: StreamingParams


@dataclass(frozen=True, slots=True)
class PlaylistGenerated:
    """The DJ made a playlist (``seconds``: how long it took, for /metrics)."""

    user_id: str
    seconds: float


class Events:
    """Subscriptions by event name; one owner (the station), many listeners."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Callable[[Any], None]]] = {}
        self._lock = threading.Lock()

    @overload
    def listen(
        self, name: Literal["interaction_recorded"], handler: Callable[[InteractionRecorded], None]
    ) -> Unsubscribe: ...
    @overload
    def listen(
        self, name: Literal["tracks_changed"], handler: Callable[[TracksChanged], None]
    ) -> Unsubscribe: ...
    @overload
    def listen(
        self, name: Literal["device_changed"], handler: Callable[[DeviceChanged], None]
    ) -> Unsubscribe: ...
    @overload
    def listen(
        self, name: Literal["playlist_generated"], handler: Callable[[PlaylistGenerated], None]
    ) -> Unsubscribe: ...
    def listen(self, name: EventName, handler: Callable[[Any], None]) -> Unsubscribe:
        """Call ``handler`` with every ``name`` event from now on, until unsubscribed."""
        with self._lock:
            self._handlers[name] = [*self._handlers.get(name, []), handler]

        def unsubscribe() -> None:
            with self._lock:
                self._handlers[name] = [h for h in self._handlers.get(name, []) if h is not handler]

        return unsubscribe

    @overload
    def emit(self, name: Literal["interaction_recorded"], event: InteractionRecorded) -> None: ...
    @overload
    def emit(self, name: Literal["tracks_changed"], event: TracksChanged) -> None: ...
    @overload
    def emit(self, name: Literal["device_changed"], event: DeviceChanged) -> None: ...
    @overload
    def emit(self, name: Literal["playlist_generated"], event: PlaylistGenerated) -> None: ...
    def emit(self, name: EventName, event: object) -> None:
        for handler in self._handlers.get(name, ()):  # a list replaced, never mutated
            try:
                handler(event)
            except Exception:
                log.exception("%s handler %r failed", name, handler)
