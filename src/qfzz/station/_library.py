"""The music-library side of the station, for apps that browse a collection.

Albums and artists are groups of tracks (see ``qfzz.store.library``); each group has a
stable id, a digest of its natural key (``qfzz.models.album_group_id``), so it survives
restarts and rescans. A listener's favorites, ratings, playlists and play queue live in the
store (the source of truth); stars and ratings also go through the feedback flow, so the DJ
learns from them. This module speaks QFZZ's terms only (``AlbumOrder``, ``PlaybackState``,
typed errors); a protocol's own names for them are mapped in that protocol's API package.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum, auto
from functools import partial
from pathlib import Path
from typing import Generic, TypeVar

from qfzz.catalog.artwork import Artwork, find_artwork
from qfzz.catalog.lyrics import Lyrics, read_lyrics
from qfzz.dj import PersonalizedDJ
from qfzz.errors import InvalidInput, MissingField, UnknownItem, UnreadableFile
from qfzz.models import AlbumGroup, ArtistGroup, GenreCount, Track, index_letter
from qfzz.settings import Settings
from qfzz.station._catalog import Catalog
from qfzz.station._covers import SizedCovers
from qfzz.station._feedback import FeedbackFlow
from qfzz.station._playlists import Playlists
from qfzz.station._profiles import ProfileBook
from qfzz.store import AlbumSort, Store

__all__ = [
    "AlbumOrder",
    "Annotations",
    "Library",
    "ScanStatus",
    "Starred",
]

T = TypeVar("T")
log = logging.getLogger(__name__)
#: Most files read to answer one lyrics lookup by artist and title.
LYRICS_TRIES = 8


class AlbumOrder(StrEnum):
    """Which albums an album list holds, and in what order."""

    RANDOM = auto()
    NEWEST = auto()  #: most recently added first
    HIGHEST_RATED = auto()  #: the listener's rated albums, best mean rating first
    MOST_PLAYED = auto()  #: the listener's played albums, most plays first
    RECENTLY_PLAYED = auto()  #: the listener's played albums, last played first
    BY_NAME = auto()
    BY_ARTIST = auto()
    STARRED = auto()  #: the listener's starred albums, in the order they were starred
    BY_YEAR = auto()  #: needs ``from_year`` and ``to_year`` (descending if from > to)
    BY_GENRE = auto()  #: needs ``genre``


@dataclass(frozen=True, slots=True)
class Annotations:
    """One listener's marks on some tracks: stars (time), ratings (1–5), play counts."""

    starred: dict[int, float]
    ratings: dict[int, int]
    plays: dict[int, int]


@dataclass(frozen=True, slots=True)
class Starred:
    songs: list[Track]
    albums: list[AlbumGroup]
    artists: list[ArtistGroup]
    at: dict[str, dict[str, float]]  # kind → key → when


@dataclass(frozen=True, slots=True)
class ScanStatus:
    scanning: bool
    count: int


class _PerVersion(Generic[T]):
    """A value made from the store, kept while the library's groups version stays the
    same (made outside the lock: two callers may both make it, the later one is kept)."""

    def __init__(self) -> None:
        self._kept: tuple[int, T] | None = None
        self._lock = threading.Lock()

    def get(self, version: int, make: Callable[[], T]) -> T:
        with self._lock:
            kept = self._kept
        if kept is None or kept[0] != version:
            kept = (version, make())
            with self._lock:
                self._kept = kept
        return kept[1]


class Library:
    """Browsing, cover art, a listener's stars and ratings, and rescans for library apps."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        catalog: Catalog,
        profiles: ProfileBook,
        dj: PersonalizedDJ,
        playlists: Playlists,
        feedback: FeedbackFlow,
        clock: Callable[[], float],
    ) -> None:
        self._settings = settings
        self._store = store
        self._catalog = catalog
        self._profiles = profiles
        self._dj = dj
        self._playlists = playlists
        self._feedback = feedback
        self._clock = clock
        self._artist_list: _PerVersion[list[ArtistGroup]] = _PerVersion()
        self._album_list: _PerVersion[list[AlbumGroup]] = _PerVersion()
        self._artist_letters: _PerVersion[list[tuple[str, list[ArtistGroup]]]] = _PerVersion()
        self._random = random.Random()
        self._lock = threading.Lock()
        self._scan_thread: threading.Thread | None = None
        self._covers = SizedCovers()

    # -- browsing -----------------------------------------------------------------------

    def albums(self) -> list[AlbumGroup]:
        """Every album (a copy of the list cached until the groups change)."""
        version = self._store.library.version()
        return list(self._album_list.get(version, self._store.library.albums))

    def artists(self) -> list[ArtistGroup]:
        """Every artist by name (any case): the whole list is big (100k artists at a
        million tracks), so it is kept until the groups change, as Navidrome does."""
        version = self._store.library.version()
        return list(self._artist_list.get(version, self._store.library.artists))

    def artist_letters(self) -> list[tuple[str, list[ArtistGroup]]]:
        """Every artist under its index letter (``qfzz.models.index_letter``), letters in
        order: kept with the artist list, until the groups change. Read-only to callers."""
        version = self._store.library.version()

        def grouped() -> list[tuple[str, list[ArtistGroup]]]:
            by_letter: dict[str, list[ArtistGroup]] = {}
            for group in self._artist_list.get(version, self._store.library.artists):
                by_letter.setdefault(index_letter(group.name), []).append(group)
            return sorted(by_letter.items())

        return self._artist_letters.get(version, grouped)

    def artists_version(self) -> int:
        """Changes whenever ``artists()`` may have (for caches of whole answers)."""
        return self._store.library.version()

    def genres(self) -> list[GenreCount]:
        return list(self._store.library.genres())

    def stars(self, user_id: str, kind: str, keys: Sequence[str] | None = None) -> dict[str, float]:
        """The listener's starred ``kind`` (song, album, artist), all or among ``keys``
        (what a page shows): key → when."""
        return self._store.collections.stars(user_id, kind, keys)

    def artist_tracks(self, key: str) -> list[Track]:
        return self._store.library.artist_tracks(self.artist(key).artist_key)

    def album(self, key: str) -> AlbumGroup:
        found = self._store.library.album(key)
        if found is None:
            raise UnknownItem(f"no album with id {key}")
        return found

    def artist(self, key: str) -> ArtistGroup:
        found = self._store.library.artist(key)
        if found is None:
            raise UnknownItem(f"no artist with id {key}")
        return found

    # -- cover art ----------------------------------------------------------------------

    def track_artwork(self, track: Track) -> Artwork | None:
        """The picture in the track's file, or beside it."""
        return self._first_artwork([track])

    def album_artwork(self, key: str) -> Artwork | None:
        return self._first_artwork(self.album_tracks(key)[1])

    def artist_artwork(self, key: str) -> Artwork | None:
        return self._first_artwork(self.artist_tracks(key))

    def sized_artwork(self, artwork: Artwork, size: int) -> Artwork:
        """``artwork`` scaled down to fit ``size`` px (resized once, then remembered)."""
        return self._covers.fit(artwork, size)

    def _first_artwork(self, tracks: Sequence[Track], *, tries: int = 8) -> Artwork | None:
        """The first picture among a few of ``tracks`` (albums are mostly tagged alike);
        each file's reading has the station's read deadline, a stalled one has no art."""
        for track in [t for t in tracks if t.path][:tries]:
            path = Path(track.path)  # type: ignore[arg-type]
            try:
                found = self._catalog.file_reads.run(partial(find_artwork, path), str(path))
            except UnreadableFile as exc:
                log.warning("no cover art from %s: %s", path, exc)
                continue
            if found is not None:
                return found
        return None

    # -- lyrics -------------------------------------------------------------------------

    def lyrics(self, track: Track) -> list[Lyrics]:
        """The lyrics in the track's tags and in a ``.lrc`` beside it (synced first); the
        file is read with the station's read deadline, a stalled read has none."""
        if not track.path or not track.playable:
            return []
        path = Path(track.path)
        try:
            return self._catalog.file_reads.run(partial(read_lyrics, path), str(path))
        except UnreadableFile as exc:
            log.warning("no lyrics from %s: %s", path, exc)
            return []

    def lyrics_for(self, artist: str | None, title: str | None) -> tuple[Track, Lyrics] | None:
        """The first lyrics of a playable song with this artist and title (any case)."""
        wanted_title = (title or "").strip().casefold()
        wanted_artist = (artist or "").strip().casefold()
        if not wanted_title and not wanted_artist:
            return None
        needle = wanted_title or wanted_artist
        matching = [
            track
            for track in self._store.library.search(needle, limit=50, offset=0)
            if (not wanted_title or track.meta.title.casefold() == wanted_title)
            and (not wanted_artist or track.meta.artist.casefold() == wanted_artist)
        ]
        for track in matching[:LYRICS_TRIES]:  # each is a file read
            found = self.lyrics(track)
            if found:
                return track, found[0]
        return None

    def album_tracks(self, key: str) -> tuple[AlbumGroup, list[Track]]:
        group = self.album(key)
        return group, self._store.library.album_tracks(group.artist_key, group.album_key)

    def artist_albums(self, key: str) -> tuple[ArtistGroup, list[AlbumGroup]]:
        artist = self.artist(key)
        return artist, self._store.library.artist_albums(artist.artist_key)

    def album_list(
        self,
        user_id: str,
        order: AlbumOrder,
        *,
        size: int = 10,
        offset: int = 0,
        from_year: int | None = None,
        to_year: int | None = None,
        genre: str | None = None,
    ) -> list[AlbumGroup]:
        """A page of albums in ``order``, read along an index (``store.library``)."""
        library = self._store.library
        if order is AlbumOrder.RANDOM:
            return library.random_albums(size, rng=self._random)
        if order in (AlbumOrder.MOST_PLAYED, AlbumOrder.RECENTLY_PLAYED):
            recent = order is AlbumOrder.RECENTLY_PLAYED
            return library.played_albums(user_id, recent=recent, size=size, offset=offset)
        if order is AlbumOrder.HIGHEST_RATED:
            return library.rated_albums(user_id, size=size, offset=offset)
        if order is AlbumOrder.STARRED:
            return library.starred_albums(user_id, size=size, offset=offset)
        if order is AlbumOrder.BY_YEAR:
            if from_year is None or to_year is None:
                raise MissingField("from_year", "to_year")
            low, high = sorted((from_year, to_year))
            sort = AlbumSort.BY_YEAR_DESC if from_year > to_year else AlbumSort.BY_YEAR
            return library.album_page(sort, size=size, offset=offset, years=(low, high))
        if order is AlbumOrder.BY_GENRE:
            if not genre:
                raise MissingField("genre")
            return library.album_page(AlbumSort.BY_GENRE, size=size, offset=offset, genre=genre)
        return library.album_page(_SORTS[order], size=size, offset=offset)

    def random_songs(
        self,
        size: int,
        *,
        genre: str | None = None,
        from_year: int | None = None,
        to_year: int | None = None,
    ) -> list[Track]:
        return self._store.library.random_tracks(
            size, genre=genre, from_year=from_year, to_year=to_year
        )

    def search_songs(self, needle: str | None, *, limit: int, offset: int) -> list[Track]:
        """Playable songs matching ``needle`` in title, artist or album, paged in SQL."""
        return self._store.library.search(needle, limit=limit, offset=offset)

    def search_artists(self, needle: str | None, *, limit: int, offset: int) -> list[ArtistGroup]:
        """Artists whose name matches ``needle``, paged in SQL (see the store's)."""
        return self._store.library.search_artists(needle, limit=limit, offset=offset)

    def search_albums(self, needle: str | None, *, limit: int, offset: int) -> list[AlbumGroup]:
        """Albums whose name or artist matches ``needle``, paged in SQL."""
        return self._store.library.search_albums(needle, limit=limit, offset=offset)

    def songs_by_genre(self, genre: str, count: int, offset: int) -> list[Track]:
        return self._store.library.genre_tracks(genre, limit=count, offset=offset)

    def top_songs(self, artist_name: str, count: int) -> list[Track]:
        """The artist's most played tracks (every listener's plays)."""
        found = self._store.library.artist_named(artist_name)
        if found is None:
            return []
        songs = self._store.library.artist_tracks(found.artist_key)
        plays = self._store.interactions.play_counts([t.track_id for t in songs])
        songs.sort(key=lambda t: -plays.get(t.track_id, 0))
        return songs[:count]

    def similar_songs(self, user_id: str, artist_key: str, count: int) -> list[Track]:
        """Tracks by other artists in the artist's genres, in the listener's DJ order."""
        artist = self.artist(artist_key)
        own = self._store.library.artist_tracks(artist.artist_key)
        genres = {t.meta.genre for t in own if t.meta.genre}
        candidates = {
            t.track_id: t
            for g in sorted(genres)
            for t in self._store.library.genre_tracks(g, limit=500, offset=0)
            if t.track_id not in {o.track_id for o in own}
        }
        rank = self._dj_rank(user_id, len(candidates))
        ordered = sorted(candidates.values(), key=lambda t: rank.get(t.track_id, len(rank)))
        return ordered[:count]

    def _dj_rank(self, user_id: str, size: int) -> dict[int, int]:
        if size <= 0:
            return {}
        profile = self._profiles.get(user_id)
        picks = self._dj.recommend(profile, max(size, 1), now=self._clock())
        return {p.track_id: n for n, p in enumerate(picks)}

    # -- annotations --------------------------------------------------------------------

    def annotations(self, user_id: str, tracks: Sequence[Track]) -> Annotations:
        ids = [t.track_id for t in tracks]
        stars = self._store.collections.stars(user_id, "song", [str(i) for i in ids])
        return Annotations(
            {i: stars[str(i)] for i in ids if str(i) in stars},
            self._store.collections.ratings(user_id, ids),
            self._store.interactions.play_counts(ids),
        )

    def star(
        self, user_id: str, songs: Sequence[int], albums: Sequence[str], artists: Sequence[str]
    ) -> None:
        """Star items; a newly starred song is also a ``favorite`` for the DJ."""
        for track_id in songs:
            self._catalog.track(track_id)  # raises UnknownTrack
        for key in albums:
            self.album(key)
        for key in artists:
            self.artist(key)
        now = self._clock()
        collections = self._store.collections
        added = collections.star(user_id, "song", [str(t) for t in songs], now=now)
        collections.star(user_id, "album", albums, now=now)
        collections.star(user_id, "artist", artists, now=now)
        if added:
            self._feedback.record([(user_id, int(t), "favorite", None) for t in added])

    def unstar(
        self, user_id: str, songs: Sequence[int], albums: Sequence[str], artists: Sequence[str]
    ) -> None:
        collections = self._store.collections
        collections.unstar(user_id, "song", [str(t) for t in songs])
        collections.unstar(user_id, "album", albums)
        collections.unstar(user_id, "artist", artists)

    def starred(self, user_id: str) -> Starred:
        at = self._store.collections.starred(user_id)
        songs = self._store.tracks.get_many([int(k) for k in at.get("song", {})])
        albums = self._store.library.albums_by_id(list(at.get("album", {})))
        artists = self._store.library.artists_by_id(list(at.get("artist", {})))
        return Starred(
            [
                songs[int(k)]
                for k in at.get("song", {})
                if int(k) in songs and songs[int(k)].playable
            ],
            [albums[k] for k in at.get("album", {}) if k in albums],
            [artists[k] for k in at.get("artist", {}) if k in artists],
            at,
        )

    def set_rating(self, user_id: str, track_id: int, rating: int) -> None:
        """1–5 stores the rating and learns ``rate`` with r = (rating − 1) / 4; 0 removes it."""
        if isinstance(rating, bool) or not 0 <= rating <= 5:
            raise InvalidInput("rating must be between 0 and 5")
        self._catalog.track(track_id)
        if rating:
            self._feedback.record([(user_id, track_id, "rate", (rating - 1) / 4)])
        self._store.collections.set_rating(user_id, track_id, rating, now=self._clock())

    # -- scanning -----------------------------------------------------------------------

    def scan_folders(self) -> list[Path]:
        settings = self._settings
        folders = list(settings.library)
        if not folders and settings.demo_library and settings.demo_library_dir.exists():
            folders = [settings.demo_library_dir]
        return folders

    def start_scan(self) -> ScanStatus:
        """Rescan the library folders in the background (one scan at a time)."""
        with self._lock:
            if self._scan_thread is None or not self._scan_thread.is_alive():
                self._scan_thread = threading.Thread(
                    target=self._scan, name="qfzz-scan", daemon=True
                )
                self._scan_thread.start()
        return self.scan_status()

    def _scan(self) -> None:
        for folder in self.scan_folders():
            try:
                self._catalog.scan(folder)
            except Exception:  # a failing scan must not take the station down
                log.exception("scanning %s failed", folder)

    def scan_status(self) -> ScanStatus:
        thread = self._scan_thread
        return ScanStatus(thread is not None and thread.is_alive(), self._store.tracks.count())

    def wait_for_scan(self, timeout: float | None = None) -> None:
        thread = self._scan_thread
        if thread is not None:
            thread.join(timeout)


#: The album orders that are the same for every listener, as the store's index orders.
_SORTS = {
    AlbumOrder.NEWEST: AlbumSort.NEWEST,
    AlbumOrder.BY_NAME: AlbumSort.BY_NAME,
    AlbumOrder.BY_ARTIST: AlbumSort.BY_ARTIST,
}
