"""The station's radio: the shared mounts' autoDJ and each listener's personal stream.

Track providers connect the generic broadcast layer to the station: they ask the DJ what
to play, and turn what was heard back into feedback (a ``play`` when at least half a
track, or four minutes, was heard; a ``skip`` when the listener cut it short).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from qfzz.broadcast import Mount, Program, QueuedTrack
from qfzz.dj import ListenerProfile, PersonalizedDJ, TrustFilter
from qfzz.errors import UnknownListener, UnknownTrack
from qfzz.settings import Settings
from qfzz.station._catalog import Catalog
from qfzz.station._feedback import FeedbackFlow
from qfzz.station._playlists import Playlists
from qfzz.station._profiles import ProfileBook

log = logging.getLogger(__name__)

PLAYED_FRACTION = 0.5
PLAYED_SECONDS = 240.0
STATION_USER = "~station"


@dataclass(frozen=True, slots=True)
class RadioParts:
    """What the radio plays from and reports to (given by the station's assembly)."""

    settings: Settings
    clock: Callable[[], float]
    catalog: Catalog
    dj: PersonalizedDJ
    profiles: ProfileBook
    playlists: Playlists
    feedback: FeedbackFlow
    trust_filter: TrustFilter | None


def queued(track_id: int, catalog: Catalog) -> QueuedTrack | None:
    try:
        track = catalog.track(track_id)
    except UnknownTrack:
        return None
    if not track.playable or track.path is None:
        return None
    meta = track.meta
    return QueuedTrack(track_id, track.path, meta.title, meta.artist, meta.album, meta.duration)


class _Provider:
    def __init__(self, parts: RadioParts) -> None:
        self.parts = parts
        self._queue: deque[int] = deque()
        self._lock = threading.Lock()

    def next_track(self) -> QueuedTrack | None:
        with self._lock:
            for _ in range(3):
                if not self._queue:
                    self._queue.extend(self._refill())
                while self._queue:
                    found = queued(self._queue.popleft(), self.parts.catalog)
                    if found is not None:
                        return found
            return None

    def _refill(self) -> list[int]:
        raise NotImplementedError

    def failed(self, track: QueuedTrack, reason: str) -> None:
        self.parts.catalog.mark_unplayable(track.track_id, reason)

    def finished(self, track: QueuedTrack, played_seconds: float, skipped: bool) -> None:
        """What was heard; subclasses learn from it."""


class AutoDJ(_Provider):
    """Plays for everyone: a profile that blends every listener's learned taste."""

    def __init__(self, parts: RadioParts) -> None:
        super().__init__(parts)
        self.profile = ListenerProfile(STATION_USER, {}, discovery_factor=0.2)

    def _refill(self) -> list[int]:
        self.profile.weights = self.parts.profiles.blended_weights()
        picks = self.parts.dj.recommend(
            self.profile, 10, now=self.parts.clock(), trust_filter=self.parts.trust_filter
        )
        return [p.track_id for p in picks]

    def finished(self, track: QueuedTrack, played_seconds: float, skipped: bool) -> None:
        self.profile.recent_plays.append(track.track_id)


class PersonalDJ(_Provider):
    """Plays one listener's playlist, refilled from the DJ, and learns from listening."""

    def __init__(self, parts: RadioParts, user_id: str) -> None:
        super().__init__(parts)
        self.user_id = user_id

    def _refill(self) -> list[int]:
        playlist = self.parts.playlists.generate(self.user_id)
        return [item.track.track_id for item in playlist.items]

    def finished(self, track: QueuedTrack, played_seconds: float, skipped: bool) -> None:
        duration = track.duration or 0.0
        try:
            if skipped and played_seconds < min(PLAYED_SECONDS, PLAYED_FRACTION * duration):
                self.parts.feedback.record([(self.user_id, track.track_id, "skip", None)])
            elif played_seconds >= min(PLAYED_SECONDS, PLAYED_FRACTION * duration):
                self.parts.feedback.record([(self.user_id, track.track_id, "play", None)])
        except Exception:  # listening must go on even if feedback cannot be stored
            log.exception("could not record what %s heard", self.user_id)


class Radio:
    """The mounts of one station: shared ones by name, personal ones by listener."""

    def __init__(self, parts: RadioParts) -> None:
        self._parts = parts
        self._mounts: dict[str, Mount] = {}
        self._personal: dict[str, Mount] = {}
        self._lock = threading.Lock()

    def _new_mount(
        self, name: str, provider: _Provider, description: str, *, personal: bool = False
    ) -> Mount:
        settings = self._parts.settings
        return Mount(
            name,
            Program(provider, crossfade_seconds=settings.crossfade_seconds),
            clock=self._parts.clock,
            burst_seconds=settings.burst_seconds,
            idle_grace_seconds=settings.encoder_idle_seconds,
            buffer_seconds=settings.stream_buffer_seconds,
            description=description,
            personal=personal,
        )

    @property
    def mount_names(self) -> list[str]:
        return list(self._parts.settings.mounts)

    def mount(self, name: str) -> Mount:
        if name not in self._parts.settings.mounts:
            raise KeyError(name)
        with self._lock:
            found = self._mounts.get(name)
            if found is None:
                found = self._new_mount(name, AutoDJ(self._parts), f"QFZZ {name}")
                self._mounts[name] = found
            return found

    def personal(self, user_id: str) -> Mount:
        self._parts.profiles.get(user_id)  # raises UnknownListener
        with self._lock:
            found = self._personal.get(user_id)
            if found is None:
                found = self._new_mount(
                    f"~{user_id}",
                    PersonalDJ(self._parts, user_id),
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
