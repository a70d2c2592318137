"""The station's radio: the shared mounts' autoDJ and each listener's personal stream.

Track providers connect the generic broadcast layer to the station: they ask the DJ what
to play, and turn what was heard back into feedback (a ``play`` when at least half a
track, or four minutes, was heard; a ``skip`` when the listener cut it short).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from qfzz.audio import Codec, Loudness
from qfzz.broadcast import Mount, PacketFeed, Program, QueuedTrack, Reaper
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
#: Tracks the station's autoDJ asks the DJ for at a time.
REFILL = 10


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
    #: The loudness already known for a track path (an upload's, stored when it was
    #: converted; see ``StoredLoudness``), tried before a program measures the file.
    known_loudness: Callable[[str], Loudness | None] | None = None
    #: With several processes serving the station: the log of a shared mount's packets
    #: at (codec, bitrate), made once in the station (``station.OnAir``) and heard here.
    #: None: this process makes its shared mounts itself.
    relayed: Callable[[str, Codec, int], PacketFeed] | None = None


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

    def invalidate(self) -> None:
        """Forget what was queued: the next track comes from a fresh refill (the track the
        program already took to play next stays: it may be on air within seconds)."""
        with self._lock:
            self._queue.clear()

    def failed(self, track: QueuedTrack, reason: str) -> None:
        self.parts.catalog.mark_unplayable(track.track_id, reason)

    def finished(self, track: QueuedTrack, played_seconds: float, skipped: bool) -> None:
        """What was heard; subclasses learn from it."""


class AutoDJ(_Provider):
    """Plays for everyone: a profile that blends every listener's learned taste.

    No track comes back within the last ``no_repeat_plays`` picks (fewer when the
    playable catalog is smaller: one less than its size). A pick counts from the moment
    it is handed to the program — queued, on air or finished alike — so neither the
    prefetch nor a refill made before the last track ended can let a repeat through.
    """

    def __init__(self, parts: RadioParts) -> None:
        super().__init__(parts)
        window = parts.settings.no_repeat_plays
        self.profile = ListenerProfile(STATION_USER, {}, discovery_factor=0.2)
        # the DJ ranks recent picks last; the window below is the rule
        self.profile.recent_plays = deque(maxlen=max(window, 1))
        self._picked: deque[int] = deque(maxlen=max(window, 1))

    def window(self) -> int:
        """How many of the last picks the next one may not repeat."""
        index = self.parts.dj.catalog.current
        playable = int((index.active & index.playable).sum())
        return max(0, min(self.parts.settings.no_repeat_plays, playable - 1))

    def next_track(self) -> QueuedTrack | None:
        with self._lock:
            window = self.window()
            recent = set(list(self._picked)[len(self._picked) - window :]) if window else set()
            for attempt in range(4):
                if not self._queue:
                    self._queue.extend(self._refill(wide=attempt > 0))
                if attempt == 3:  # nothing fresh is playable: a repeat beats silence
                    recent = set()
                while self._queue:
                    track_id = self._queue.popleft()
                    if track_id in recent:
                        continue
                    found = queued(track_id, self.parts.catalog)
                    if found is not None:
                        self._picked.append(track_id)
                        self.profile.recent_plays.append(track_id)
                        return found
            return None

    def _refill(self, *, wide: bool = False) -> list[int]:
        """The DJ's next picks; ``wide`` asks for enough to get past the whole window."""
        self.profile.weights = self.parts.profiles.blended_weights()
        size = REFILL + (len(self._picked) if wide else 0)
        picks = self.parts.dj.recommend(
            self.profile, size, now=self.parts.clock(), trust_filter=self.parts.trust_filter
        )
        return [p.track_id for p in picks]


class PersonalDJ(_Provider):
    """Plays one listener's playlist, refilled from the DJ, and learns from listening.

    The program runs ``burst_seconds`` and more ahead of what the listener hears, so what
    it has made of a skipped track overstates what was heard: a skip a few seconds into a
    short track would count as a play. ``Radio.skip`` notes the position the listener
    had reached, and a skip is judged by that.
    """

    def __init__(self, parts: RadioParts, user_id: str) -> None:
        super().__init__(parts)
        self.user_id = user_id
        self._heard_at_skip: dict[int, float] = {}

    def note_skip(self, track_id: int, heard_seconds: float) -> None:
        """The listener asked to skip ``track_id`` having heard ``heard_seconds`` of it."""
        with self._lock:
            self._heard_at_skip = {track_id: heard_seconds}

    def _refill(self) -> list[int]:
        playlist = self.parts.playlists.generate(self.user_id)
        return [item.track.track_id for item in playlist.items]

    def finished(self, track: QueuedTrack, played_seconds: float, skipped: bool) -> None:
        duration = track.duration or 0.0
        if skipped:
            with self._lock:
                heard = self._heard_at_skip.pop(track.track_id, played_seconds)
            played_seconds = min(played_seconds, heard)
        try:
            if skipped and played_seconds < min(PLAYED_SECONDS, PLAYED_FRACTION * duration):
                self.parts.feedback.record([(self.user_id, track.track_id, "skip", None)])
            elif played_seconds >= min(PLAYED_SECONDS, PLAYED_FRACTION * duration):
                self.parts.feedback.record([(self.user_id, track.track_id, "play", None)])
        except Exception:  # listening must go on even if feedback cannot be stored
            log.exception("could not record what %s heard", self.user_id)


class Radio:
    """The mounts of one station: shared ones by name, personal ones by listener.

    A reaper (started with the station) stops each idle encoder when its grace period
    ends, by the station's clock; the PCM stage of a mount stops with its last encoder.
    A personal mount quiet for the grace period is retired: dropped from the radio, its
    program suspended where the listener was (``Program.suspend``) and kept, so a
    returning listener continues that radio — the track that was on air, from where it
    was heard, then the rest of the queue — instead of a fresh playlist.
    """

    #: Suspended personal programs kept at most; past it the longest resting is dropped
    #: (that listener's next visit starts a fresh playlist). Each holds no decoder or
    #: thread, only its queue, so the cap only bounds a station with very many listeners.
    max_resting = 10_000

    def __init__(self, parts: RadioParts) -> None:
        self._parts = parts
        self._mounts: dict[str, Mount] = {}
        self._personal: dict[str, Mount] = {}
        self._resting: dict[str, Program] = {}  # suspended, longest resting first
        self._sources: dict[str, Mount] = {}  # shared mounts made here for the station
        self._lock = threading.Lock()
        self._reaper = Reaper(parts.clock, self._next_due, self._reap_at, name="qfzz-radio-reaper")

    def _new_mount(
        self,
        name: str,
        program: Program,
        description: str,
        *,
        personal: bool = False,
        relayed: Callable[[Codec, int], PacketFeed] | None = None,
    ) -> Mount:
        settings = self._parts.settings
        return Mount(
            name,
            program,
            clock=self._parts.clock,
            burst_seconds=settings.burst_seconds,
            idle_grace_seconds=settings.encoder_idle_seconds,
            buffer_seconds=settings.stream_buffer_seconds,
            description=description,
            personal=personal,
            on_idle=self._reaper.poke,
            relayed=relayed,
        )

    def _program(self, provider: _Provider) -> Program:
        return Program(
            provider,
            crossfade_seconds=self._parts.settings.crossfade_seconds,
            known_loudness=self._parts.known_loudness,
        )

    @property
    def mount_names(self) -> list[str]:
        return list(self._parts.settings.mounts)

    def mount(self, name: str) -> Mount:
        if name not in self._parts.settings.mounts:
            raise KeyError(name)
        relayed = self._parts.relayed
        with self._lock:
            found = self._mounts.get(name)
            if found is None:
                program = self._program(AutoDJ(self._parts))
                found = self._new_mount(
                    name,
                    program,
                    f"QFZZ {name}",
                    relayed=None if relayed is None else functools.partial(relayed, name),
                )
                self._mounts[name] = found
            return found

    def source(self, name: str) -> Mount:
        """The shared mount ``name`` as this process makes it for the whole station (while
        it holds the mount's lease; see ``station.OnAir``): its program encoded here."""
        if name not in self._parts.settings.mounts:
            raise KeyError(name)
        with self._lock:
            found = self._sources.get(name)
            if found is None:
                program = self._program(AutoDJ(self._parts))
                found = self._sources[name] = self._new_mount(name, program, f"QFZZ {name}")
            return found

    def drop_source(self, name: str) -> None:
        """Stop making ``name`` here (the lease went to another process)."""
        with self._lock:
            found = self._sources.pop(name, None)
        if found is not None:
            found.close()

    def personal(self, user_id: str) -> Mount:
        """The listener's radio: on air, resumed where it was retired, or new."""
        self._parts.profiles.get(user_id)  # raises UnknownListener
        found = self._personal_mount(user_id, create=True)
        assert found is not None
        return found

    def _personal_mount(self, user_id: str, *, create: bool) -> Mount | None:
        with self._lock:
            found = self._personal.get(user_id)
            if found is None and create:
                program = self._resting.pop(user_id, None)
                if program is None:
                    program = self._program(PersonalDJ(self._parts, user_id))
                found = self._new_mount(
                    f"~{user_id}", program, f"QFZZ for {user_id}", personal=True
                )
                self._personal[user_id] = found
                self._reaper.poke()  # a new mount: quiet until its listener tunes in
            return found

    def skip(self, user_id: str) -> QueuedTrack | None:
        with self._lock:
            found = self._personal.get(user_id)
        if found is None:
            raise UnknownListener(f"{user_id} has no personal stream playing")
        playing = found.program.now_playing
        provider = found.program.provider
        if playing is not None and isinstance(provider, PersonalDJ):
            heard = found.now()  # what the listener hears: behind what the program made
            same = heard.track is not None and heard.track.track_id == playing.track_id
            position = heard.position if same else 0.0
            provider.note_skip(playing.track_id, position)
        found.program.skip()
        return playing

    def taste_changed(self, user_id: str) -> None:
        """The listener skipped or disliked something: the rest of their radio's queue was
        chosen before they said so, so it is chosen again (on whichever route they said it:
        the stream, the web page, a Subsonic app)."""
        with self._lock:
            mount = self._personal.get(user_id)
            program = mount.program if mount is not None else self._resting.get(user_id)
        if program is not None and isinstance(program.provider, _Provider):
            program.provider.invalidate()

    def all_mounts(self) -> list[Mount]:
        with self._lock:
            return [*self._mounts.values(), *self._personal.values()]

    def _every_mount(self) -> list[Mount]:
        """The mounts listened to here and those made here for the station."""
        with self._lock:
            return [*self._mounts.values(), *self._personal.values(), *self._sources.values()]

    @property
    def resting(self) -> list[str]:
        """Listeners whose personal radio is suspended (retired, its place kept)."""
        with self._lock:
            return list(self._resting)

    def start(self) -> None:
        """Start reaping idle encoders and mounts (the station does, when it starts)."""
        self._reaper.start()

    def reap(self) -> None:
        """Stop what is due now (the reaper does this on its own; for callers that move
        a clock the reaper cannot wait on, such as a ``FakeClock``)."""
        self._reap_at(self._parts.clock())

    def _reap_at(self, now: float) -> None:
        for mount in self._every_mount():
            mount.reap(now)
        dropped: list[Program] = []
        with self._lock:
            for user_id, mount in list(self._personal.items()):
                successor = functools.partial(self._successor, user_id)
                if mount.quiet(now) and mount.retire(now, successor):
                    del self._personal[user_id]
                    self._resting[user_id] = mount.program
                    log.debug("personal radio of %s retired until they return", user_id)
            while len(self._resting) > self.max_resting:
                dropped.append(self._resting.pop(next(iter(self._resting))))
        for program in dropped:
            program.close()

    def _successor(self, user_id: str, create: bool) -> Mount | None:
        return self._personal_mount(user_id, create=create)

    def _next_due(self) -> float | None:
        dues = [due for mount in self._every_mount() if (due := mount.next_due()) is not None]
        return min(dues) if dues else None

    def close(self) -> None:
        self._reaper.stop()
        for mount in self._every_mount():
            mount.close()
        with self._lock:
            programs = list(self._resting.values())
            self._mounts.clear()
            self._personal.clear()
            self._sources.clear()
            self._resting.clear()
        for program in programs:
            program.close()
