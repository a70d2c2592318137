"""The playlist flow: a listener's playlist made by the DJ once, then served from the
cache until their next feedback.

The cache entry carries the version of the profile it was computed from, read before the
DJ reads the profile; every feedback moves the version on before it is acknowledged, so a
playlist computed before an acknowledged feedback is never served after it, even when a
slow generation stores it late.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from qfzz.cache import PlaylistCache
from qfzz.dj import ListenerProfile, PersonalizedDJ, TrustFilter
from qfzz.errors import InvalidInput
from qfzz.models import Playlist, PlaylistItem
from qfzz.station._catalog import Catalog
from qfzz.station._events import Events, PlaylistGenerated
from qfzz.station._profiles import ProfileBook
from qfzz.station._running import RunState
from qfzz.store import ListenerRepository, StoredPlaylist


class Playlists:
    def __init__(
        self,
        *,
        dj: PersonalizedDJ,
        profiles: ProfileBook,
        catalog: Catalog,
        listeners: ListenerRepository,
        cache: PlaylistCache[Playlist],
        trust_filter: TrustFilter | None,
        max_size: int,
        run_state: RunState,
        events: Events,
        clock: Callable[[], float],
        familiarity: float = 0.0,
    ) -> None:
        self._dj = dj
        self._familiarity = familiarity
        self._profiles = profiles
        self._catalog = catalog
        self._listeners = listeners
        self._cache = cache
        self._trust_filter = trust_filter
        self._max_size = max_size
        self._run_state = run_state
        self._events = events
        self._clock = clock

    def cached(self, user_id: str, size: int | None = None) -> Playlist | None:
        """The current playlist if the cache has it (never blocks on the DJ or the store)."""
        _check_size(size)
        profile = self._profiles.peek(user_id)
        if not self._run_state.running or profile is None:
            return None
        current = self._cache.peek(user_id, version=_version(profile))
        return None if current is None else _first(current, size)

    def current(
        self, user_id: str, size: int | None = None, *, include_unplayable: bool = False
    ) -> Playlist:
        """The listener's current playlist (cached until their next feedback)."""
        self._run_state.require()
        if include_unplayable:
            return self.generate(user_id, size, include_unplayable=True)
        _check_size(size)
        profile = self._profiles.get(user_id)  # UnknownListener before anything is cached
        found = self._cache.get(user_id, lambda: self.generate(user_id), version=_version(profile))
        if found is None:
            return self.generate(user_id, size)
        return _first(found, size)

    def generate(
        self, user_id: str, size: int | None = None, *, include_unplayable: bool = False
    ) -> Playlist:
        """A new playlist from the DJ (stored as the listener's latest)."""
        self._run_state.require()
        started = time.perf_counter()
        _check_size(size)
        size = self._max_size if size is None else min(size, self._max_size)  # see capped_at
        profile = self._profiles.get(user_id)
        now = self._clock()
        recommendations = self._dj.recommend(
            profile,
            size,
            now=now,
            include_unplayable=include_unplayable,
            trust_filter=self._trust_filter,
            familiarity=self._familiarity,
        )
        tracks = self._catalog.tracks([r.track_id for r in recommendations])
        items = tuple(
            PlaylistItem(tracks[r.track_id], r.score, r.reasons)
            for r in recommendations
            if r.track_id in tracks
        )
        self._listeners.save_playlist(
            StoredPlaylist(
                user_id,
                now,
                [
                    {"track_id": i.track.track_id, "score": i.score, "reasons": list(i.reasons)}
                    for i in items
                ],
            )
        )
        elapsed = time.perf_counter() - started
        self._events.emit("playlist_generated", PlaylistGenerated(user_id, elapsed))
        return Playlist(user_id, items, now)

    def capped_at(self, size: int | None) -> int | None:
        """The size a playlist asked to be ``size`` long is made at instead, when the
        station's ``max_playlist_size`` caps it (None: as asked) — for answers that say
        so rather than hand over fewer tracks without a word."""
        return self._max_size if size is not None and size > self._max_size else None

    def stored(self, user_id: str) -> StoredPlaylist | None:
        """The last playlist made for the listener, as stored."""
        self._profiles.get(user_id)  # UnknownListener
        return self._listeners.playlist(user_id)


def _check_size(size: int | None) -> None:
    if size is not None and (isinstance(size, bool) or size < 1):
        raise InvalidInput("size must be at least 1")


def _first(playlist: Playlist, size: int | None) -> Playlist:
    if size is None:
        return playlist
    return Playlist(playlist.user_id, playlist.items[:size], playlist.generated_at)


def _version(profile: ListenerProfile) -> tuple[str, int]:
    """The version a playlist computed from ``profile`` now is stored and served under.

    Read without the profile's lock (it must not block the event loop): a feedback being
    applied right now may already show in what the DJ then reads, but never the other way
    round, so the version is never newer than the playlist computed after reading it.
    """
    return profile.incarnation, profile.applied
