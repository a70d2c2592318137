"""A listener's own collection beside the library: listening reports (now playing, plays
and skips from apps), playlists and the saved play queue.

The store is the source of truth for playlists and queues; reports go through the
feedback flow so the DJ learns from on-demand listening too. Now playing is kept in this
process for an hour (``NOW_PLAYING_SECONDS``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum, auto

from qfzz.errors import Forbidden, InvalidInput, UnknownItem
from qfzz.models import PlayQueue, Track, UserPlaylist
from qfzz.station._catalog import Catalog
from qfzz.station._feedback import FeedbackFlow
from qfzz.station._playlists import Playlists
from qfzz.store import Store

__all__ = ["Collections", "NowPlaying", "PlaybackState"]

#: A stop before min(this fraction of the track, PLAYED_SECONDS) is a skip (as on radio).
PLAYED_FRACTION = 0.5
PLAYED_SECONDS = 240.0
NOW_PLAYING_SECONDS = 3600.0


class PlaybackState(StrEnum):
    """What an app reports its player doing with a track."""

    STARTING = auto()
    PLAYING = auto()
    PAUSED = auto()
    STOPPED = auto()


@dataclass(frozen=True, slots=True)
class NowPlaying:
    user_id: str
    track: Track
    since: float
    client: str


class Collections:
    def __init__(
        self,
        store: Store,
        *,
        catalog: Catalog,
        playlists: Playlists,
        feedback: FeedbackFlow,
        clock: Callable[[], float],
    ) -> None:
        self._store = store
        self._catalog = catalog
        self._playlists = playlists
        self._feedback = feedback
        self._clock = clock
        self._now: dict[str, NowPlaying] = {}
        self._lock = threading.Lock()

    # -- listening ----------------------------------------------------------------------

    def scrobble(self, user_id: str, track_id: int, *, played: bool, client: str) -> None:
        """A track ``played`` through is a ``play``; otherwise it is now playing."""
        track = self._catalog.track(track_id)
        if played:
            self._feedback.record([(user_id, track_id, "play", None)])
        else:
            with self._lock:
                self._now[user_id] = NowPlaying(user_id, track, self._clock(), client)

    def report_playback(
        self, user_id: str, track_id: int, *, state: PlaybackState, position_ms: int, client: str
    ) -> None:
        """A stop well before the end is a ``skip``; starting or playing is now playing."""
        track = self._catalog.track(track_id)
        if state in (PlaybackState.STARTING, PlaybackState.PLAYING):
            with self._lock:
                self._now[user_id] = NowPlaying(user_id, track, self._clock(), client)
        elif state is PlaybackState.STOPPED:
            with self._lock:
                self._now.pop(user_id, None)
            duration = track.meta.duration or 0.0
            if position_ms / 1000 < min(PLAYED_SECONDS, PLAYED_FRACTION * duration):
                self._feedback.record([(user_id, track_id, "skip", None)])

    def now_playing(self) -> list[NowPlaying]:
        horizon = self._clock() - NOW_PLAYING_SECONDS
        with self._lock:
            for user in [u for u, n in self._now.items() if n.since < horizon]:
                del self._now[user]
            return sorted(self._now.values(), key=lambda n: -n.since)

    # -- playlists ----------------------------------------------------------------------

    def playlists(self, user_id: str) -> list[UserPlaylist]:
        return self._store.collections.playlists(user_id)

    def playlist(self, user_id: str, playlist_id: int) -> UserPlaylist:
        found = self._store.collections.playlist(playlist_id)
        if found is None or (found.user_id != user_id and not found.public):
            raise UnknownItem(f"no playlist with id {playlist_id}")
        return found

    def dj_playlist(self, user_id: str) -> tuple[float, list[Track]]:
        """The listener's current DJ playlist (made now if there is none yet)."""
        stored = self._playlists.stored(user_id)
        if stored is None:
            made = self._playlists.generate(user_id)
            return made.generated_at, [item.track for item in made.items]
        ids = [int(item["track_id"]) for item in stored.items]
        found = self._store.tracks.get_many(ids)
        return stored.generated_at, [found[i] for i in ids if i in found]

    def tracks(self, track_ids: Sequence[int]) -> list[Track]:
        found = self._store.tracks.get_many(list(track_ids))
        return [found[i] for i in track_ids if i in found]

    def create_playlist(self, user_id: str, name: str, track_ids: Sequence[int]) -> int:
        self._check_tracks(track_ids)
        return self._store.collections.create_playlist(
            user_id, name, list(track_ids), now=self._clock()
        )

    def update_playlist(
        self,
        user_id: str,
        playlist_id: int,
        *,
        name: str | None = None,
        comment: str | None = None,
        public: bool | None = None,
        add: Sequence[int] = (),
        remove_indexes: Sequence[int] = (),
        replace: Sequence[int] | None = None,
    ) -> None:
        playlist = self._own(user_id, playlist_id)
        self._check_tracks([*add, *(replace or ())])
        ids = list(playlist.track_ids if replace is None else replace)
        drop = set(remove_indexes)
        if any(not 0 <= i < len(ids) for i in drop):
            raise InvalidInput("a track index to remove is out of range")
        ids = [t for n, t in enumerate(ids) if n not in drop] + list(add)
        changed = replace is not None or bool(add) or bool(drop)
        self._store.collections.update_playlist(
            playlist_id,
            now=self._clock(),
            name=name,
            comment=comment,
            public=public,
            track_ids=ids if changed else None,
        )

    def delete_playlist(self, user_id: str, playlist_id: int) -> None:
        self._own(user_id, playlist_id)
        self._store.collections.delete_playlist(playlist_id)

    def _own(self, user_id: str, playlist_id: int) -> UserPlaylist:
        playlist = self.playlist(user_id, playlist_id)
        if playlist.user_id != user_id:
            raise Forbidden(f"playlist {playlist_id} belongs to {playlist.user_id}")
        return playlist

    def _check_tracks(self, track_ids: Sequence[int]) -> None:
        found = self._store.tracks.get_many(list(track_ids))
        missing = sorted(set(track_ids) - set(found))
        if missing:
            raise InvalidInput(f"no track with id {missing[0]}")

    # -- play queue ---------------------------------------------------------------------

    def save_play_queue(
        self,
        user_id: str,
        track_ids: Sequence[int],
        current: int | None,
        position_ms: int,
        client: str,
    ) -> None:
        self._check_tracks(track_ids)
        if current is not None and current not in track_ids:
            raise InvalidInput("current must be one of the queued ids")
        self._store.collections.save_play_queue(
            PlayQueue(user_id, list(track_ids), current, max(0, position_ms), self._clock(), client)
        )

    def play_queue(self, user_id: str) -> PlayQueue | None:
        return self._store.collections.play_queue(user_id)
