"""A listener's own collection beside the library: listening reports (now playing, plays
and skips from apps), playlists, the saved play queue, bookmarks and shares.

What is *served* from a collection holds playable songs only: a playlist or queue keeps
every id it was given (a song may become playable again), but its entries as listed
skip songs QFZZ has no audio for, so every app can play what it lists.

The store is the source of truth for playlists and queues; reports go through the
feedback flow so the DJ learns from on-demand listening too. Now playing is kept for an
hour (``NOW_PLAYING_SECONDS``): in this process, and, with a cache server, in a map every
process of the station shares (``cache.SharedMap``), so an app sees the same list
whichever process answers it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum, auto

from qfzz.cache import SharedMap
from qfzz.errors import Forbidden, InvalidInput, UnknownItem
from qfzz.models import Bookmark, PlayQueue, Track, UserPlaylist
from qfzz.station._catalog import Catalog
from qfzz.station._feedback import FeedbackFlow
from qfzz.station._playlists import Playlists
from qfzz.station._shares import Shares, check_text
from qfzz.store import Store

__all__ = ["MAX_BOOKMARKS", "MAX_BOOKMARK_COMMENT", "Collections", "NowPlaying", "PlaybackState"]

#: Longest bookmark comment, and most bookmarks one listener keeps.
MAX_BOOKMARK_COMMENT = 1000
MAX_BOOKMARKS = 1000
#: Most songs a saved play queue holds.
MAX_QUEUE = 5000

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
        shared_now: SharedMap | None = None,
    ) -> None:
        self._store = store
        #: Now playing as every process of the station sees it (None: this process's own).
        self._shared_now = shared_now
        self._catalog = catalog
        self._playlists = playlists
        self._feedback = feedback
        self._clock = clock
        self._now: dict[str, NowPlaying] = {}
        self._lock = threading.Lock()
        #: Public links to songs; a piece of the listener's collection with its own rules.
        self.shares = Shares(store, clock=clock)

    # -- listening ----------------------------------------------------------------------

    def scrobble(self, user_id: str, track_id: int, *, played: bool, client: str) -> None:
        """A track ``played`` through is a ``play``; otherwise it is now playing."""
        track = self._catalog.track(track_id)
        if played:
            self._feedback.record([(user_id, track_id, "play", None)])
        else:
            self._playing(NowPlaying(user_id, track, self._clock(), client))

    def report_playback(
        self, user_id: str, track_id: int, *, state: PlaybackState, position_ms: int, client: str
    ) -> None:
        """A stop well before the end is a ``skip``; starting or playing is now playing."""
        track = self._catalog.track(track_id)
        if state in (PlaybackState.STARTING, PlaybackState.PLAYING):
            self._playing(NowPlaying(user_id, track, self._clock(), client))
        elif state is PlaybackState.STOPPED:
            self._stopped([user_id])
            duration = track.meta.duration or 0.0
            if position_ms / 1000 < min(PLAYED_SECONDS, PLAYED_FRACTION * duration):
                self._feedback.record([(user_id, track_id, "skip", None)])

    def now_playing(self) -> list[NowPlaying]:
        horizon = self._clock() - NOW_PLAYING_SECONDS
        playing = self._everyone_playing()
        gone = [user for user, n in playing.items() if n.since < horizon]
        self._stopped(gone)
        return sorted((n for n in playing.values() if n.since >= horizon), key=lambda n: -n.since)

    def _playing(self, now: NowPlaying) -> None:
        with self._lock:
            self._now[now.user_id] = now
        if self._shared_now is not None:
            entry = {"track": now.track.track_id, "since": now.since, "client": now.client}
            self._shared_now.put(now.user_id, json.dumps(entry).encode())

    def _stopped(self, users: list[str]) -> None:
        with self._lock:
            for user in users:
                self._now.pop(user, None)
        if self._shared_now is not None:
            self._shared_now.remove(users)

    def _everyone_playing(self) -> dict[str, NowPlaying]:
        """This process's own, or, shared, every process's (this one's while the cache
        server does not answer)."""
        with self._lock:
            own = dict(self._now)
        found = None if self._shared_now is None else self._shared_now.items()
        if found is None:
            return own
        entries: dict[str, tuple[int, float, str]] = {}
        for user, raw in found.items():
            try:
                entry = json.loads(raw)
                entries[user] = (int(entry["track"]), float(entry["since"]), str(entry["client"]))
            except (ValueError, KeyError, TypeError):
                continue  # not ours: ignored
        tracks = self._catalog.tracks([track for track, _, _ in entries.values()])
        return {
            user: NowPlaying(user, tracks[track], since, client)
            for user, (track, since, client) in entries.items()
            if track in tracks
        }

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
            return made.generated_at, [item.track for item in made.items if item.track.playable]
        ids = [int(item["track_id"]) for item in stored.items]
        return stored.generated_at, self.tracks(ids)

    def tracks(self, track_ids: Sequence[int]) -> list[Track]:
        """The playable songs among ``track_ids``, in their order (repeats kept)."""
        found = self._store.tracks.get_many(list(track_ids))
        return [found[i] for i in track_ids if i in found and found[i].playable]

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
        """Save the queue with ``current`` naming the playing song (its first place)."""
        if current is not None and current not in track_ids:
            raise InvalidInput("current must be one of the queued ids")
        index = None if current is None else list(track_ids).index(current)
        self.save_play_queue_at(user_id, track_ids, index, position_ms, client)

    def save_play_queue_at(
        self,
        user_id: str,
        track_ids: Sequence[int],
        current_index: int | None,
        position_ms: int,
        client: str,
    ) -> None:
        """Save the queue with the playing entry named by its place (a song may repeat);
        an empty queue clears the saved one."""
        if len(track_ids) > MAX_QUEUE:
            raise InvalidInput(f"a play queue holds at most {MAX_QUEUE} songs")
        if not track_ids:
            if current_index is not None:
                raise InvalidInput("currentIndex needs songs in the queue")
            self._store.collections.clear_play_queue(user_id)
            return
        self._check_tracks(track_ids)
        if current_index is not None and not 0 <= current_index < len(track_ids):
            raise InvalidInput(f"currentIndex must be between 0 and {len(track_ids) - 1}")
        current = None if current_index is None else track_ids[current_index]
        self._store.collections.save_play_queue(
            PlayQueue(
                user_id,
                list(track_ids),
                current,
                max(0, position_ms),
                self._clock(),
                client,
                current_index,
            )
        )

    def play_queue(self, user_id: str) -> tuple[PlayQueue, list[Track], int | None] | None:
        """The saved queue, its playable songs as served, and the playing entry's place
        among them (``None`` when nothing plays or the playing song is not playable)."""
        queue = self._store.collections.play_queue(user_id)
        if queue is None:
            return None
        found = self._store.tracks.get_many(queue.track_ids)
        index = queue.current_index
        if index is None and queue.current in queue.track_ids:  # saved before 0012
            index = queue.track_ids.index(queue.current)
        served: list[Track] = []
        served_index = None
        for n, track_id in enumerate(queue.track_ids):
            track = found.get(track_id)
            if track is None or not track.playable:
                continue
            if n == index:
                served_index = len(served)
            served.append(track)
        return queue, served, served_index

    # -- bookmarks ----------------------------------------------------------------------

    def save_bookmark(
        self, user_id: str, track_id: int, position_ms: int, comment: str | None
    ) -> None:
        """Create or move the listener's bookmark in a song."""
        if position_ms < 0:
            raise InvalidInput("position must be zero or more milliseconds")
        check_text("comment", comment, MAX_BOOKMARK_COMMENT)
        self._catalog.track(track_id)  # raises UnknownTrack
        existing = self._store.bookmarks.for_listener(user_id)
        if len(existing) >= MAX_BOOKMARKS and all(b.track_id != track_id for b in existing):
            raise InvalidInput(f"at most {MAX_BOOKMARKS} bookmarks; delete some first")
        self._store.bookmarks.save(user_id, track_id, position_ms, comment, now=self._clock())

    def bookmarks(self, user_id: str) -> list[tuple[Bookmark, Track]]:
        """The listener's bookmarks on playable songs, newest first, with their songs."""
        marks = self._store.bookmarks.for_listener(user_id)
        found = self._store.tracks.get_many([b.track_id for b in marks])
        return [
            (b, found[b.track_id])
            for b in marks
            if b.track_id in found and found[b.track_id].playable
        ]

    def delete_bookmark(self, user_id: str, track_id: int) -> None:
        if not self._store.bookmarks.delete(user_id, track_id):
            raise UnknownItem(f"no bookmark on song {track_id}")
