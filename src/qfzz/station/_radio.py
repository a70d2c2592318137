"""The station's radio: the shared mounts' autoDJ and each listener's personal stream.

Track providers connect the generic broadcast layer to the station: they ask the DJ what
to play, and turn what was heard back into feedback (a ``play`` when at least half a
track, or four minutes, was heard; a ``skip`` when the listener cut it short).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import TYPE_CHECKING

from qfzz.broadcast import Mount, Program, QueuedTrack
from qfzz.dj import ListenerProfile
from qfzz.errors import UnknownListener

if TYPE_CHECKING:
    from qfzz.station._station import QFZZStation

log = logging.getLogger(__name__)

PLAYED_FRACTION = 0.5
PLAYED_SECONDS = 240.0
STATION_USER = "~station"


def queued(track_id: int, station: QFZZStation) -> QueuedTrack | None:
    track = station.store.tracks.get(track_id)
    if track is None or not track.playable or track.path is None:
        return None
    meta = track.meta
    return QueuedTrack(track_id, track.path, meta.title, meta.artist, meta.album, meta.duration)


class _Provider:
    def __init__(self, station: QFZZStation) -> None:
        self.station = station
        self._queue: deque[int] = deque()
        self._lock = threading.Lock()

    def next_track(self) -> QueuedTrack | None:
        with self._lock:
            for _ in range(3):
                if not self._queue:
                    self._queue.extend(self._refill())
                while self._queue:
                    found = queued(self._queue.popleft(), self.station)
                    if found is not None:
                        return found
            return None

    def _refill(self) -> list[int]:
        raise NotImplementedError

    def failed(self, track: QueuedTrack, reason: str) -> None:
        self.station.mark_unplayable(track.track_id, reason)

    def finished(self, track: QueuedTrack, played_seconds: float, skipped: bool) -> None:
        """What was heard; subclasses learn from it."""


class AutoDJ(_Provider):
    """Plays for everyone: a profile that blends every listener's learned taste."""

    def __init__(self, station: QFZZStation) -> None:
        super().__init__(station)
        self.profile = ListenerProfile(STATION_USER, {}, discovery_factor=0.2)

    def _refill(self) -> list[int]:
        self.profile.weights = self.station.blended_weights()
        picks = self.station.dj.recommend(
            self.profile, 10, now=self.station.clock(), trust_filter=self.station.trust_filter
        )
        return [p.track_id for p in picks]

    def finished(self, track: QueuedTrack, played_seconds: float, skipped: bool) -> None:
        self.profile.recent_plays.append(track.track_id)


class PersonalDJ(_Provider):
    """Plays one listener's playlist, refilled from the DJ, and learns from listening."""

    def __init__(self, station: QFZZStation, user_id: str) -> None:
        super().__init__(station)
        self.user_id = user_id

    def _refill(self) -> list[int]:
        playlist = self.station.generate_playlist(self.user_id)
        return [item.track.track_id for item in playlist.items]

    def finished(self, track: QueuedTrack, played_seconds: float, skipped: bool) -> None:
        duration = track.duration or 0.0
        try:
            if skipped and played_seconds < min(PLAYED_SECONDS, PLAYED_FRACTION * duration):
                self.station.record_interaction(self.user_id, track.track_id, "skip")
            elif played_seconds >= min(PLAYED_SECONDS, PLAYED_FRACTION * duration):
                self.station.record_interaction(self.user_id, track.track_id, "play")
        except Exception:  # listening must go on even if feedback cannot be stored
            log.exception("could not record what %s heard", self.user_id)


class Radio:
    """The mounts of one station: shared ones by name, personal ones by listener."""

    def __init__(self, station: QFZZStation) -> None:
        self.station = station
        self._mounts: dict[str, Mount] = {}
        self._personal: dict[str, Mount] = {}
        self._lock = threading.Lock()

    def _new_mount(
        self, name: str, provider: _Provider, description: str, *, personal: bool = False
    ) -> Mount:
        settings = self.station.settings
        return Mount(
            name,
            Program(provider, crossfade_seconds=settings.crossfade_seconds),
            clock=self.station.clock,
            burst_seconds=settings.burst_seconds,
            idle_grace_seconds=settings.encoder_idle_seconds,
            buffer_seconds=settings.stream_buffer_seconds,
            description=description,
            personal=personal,
        )

    @property
    def mount_names(self) -> list[str]:
        return list(self.station.settings.mounts)

    def mount(self, name: str) -> Mount:
        if name not in self.station.settings.mounts:
            raise KeyError(name)
        with self._lock:
            found = self._mounts.get(name)
            if found is None:
                found = self._new_mount(name, AutoDJ(self.station), f"QFZZ {name}")
                self._mounts[name] = found
            return found

    def personal(self, user_id: str) -> Mount:
        self.station.profile(user_id)  # raises UnknownListener
        with self._lock:
            found = self._personal.get(user_id)
            if found is None:
                found = self._new_mount(
                    f"~{user_id}",
                    PersonalDJ(self.station, user_id),
                    f"QFZZ for {user_id}",
                    personal=True,
                )
                self._personal[user_id] = found
            return found

    def skip(self, user_id: str) -> QueuedTrack | None:
        with self._lock:
            found = self._personal.get(user_id)
        if found is None:
            raise UnknownListener(f"{user_id} has no personal stream playing")
        playing = found.program.now_playing
        found.program.skip()
        return playing

    def all_mounts(self) -> list[Mount]:
        with self._lock:
            return [*self._mounts.values(), *self._personal.values()]

    def reap(self) -> None:
        for mount in self.all_mounts():
            mount.reap()

    def close(self) -> None:
        for mount in self.all_mounts():
            mount.close()
        with self._lock:
            self._mounts.clear()
            self._personal.clear()
