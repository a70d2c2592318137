"""Browsing the catalog the way music apps do: albums, artists and genres.

QFZZ stores tracks; albums and artists are *groups* of tracks. An artist is the tracks
sharing a creator id (``normalise_creator(artist)``); an album is the tracks sharing an
artist and an album title (exactly as tagged) (untagged tracks form one album per artist,
with ``name`` ``None``). Only *playable* tracks (a file QFZZ can stream) count:
metadata-only dataset tracks never appear in a group, a song list or a search, and a group
of nothing but such tracks does not exist here, so every page is filled in SQL.

The groups are tables kept in step with the tracks by ``store._groups`` (in the
transaction that changes the tracks), so every list here is an indexed, paged read, at a
million tracks as at a hundred. Callers name a group by its natural key ``(artist_key,
album_key)`` or by its stable id, a digest of that key (``qfzz.models``).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum, auto
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, FromClause, Result, Select, Table, and_, func, select

from qfzz.models import AlbumGroup, ArtistGroup, GenreCount, Track
from qfzz.store import _groups
from qfzz.store._album_orders import AlbumOrders
from qfzz.store._database import Database
from qfzz.store._rows import IN_CHUNK, TRACK_COLUMNS, chunks, row_to_track
from qfzz.store._schema import (
    album_plays,
    album_ratings,
    albums,
    artists,
    favorites,
    genres,
    tracks,
)
from qfzz.store._search import ALBUMS, ARTISTS, SearchTarget, text_match

_album_key = _groups.album_key
_LIVE = _groups.LIVE
_PLAYABLE = _groups.PLAYABLE


class AlbumSort(StrEnum):
    """The catalog-wide album orders ``LibraryRepository.album_page`` reads an index for."""

    BY_NAME = auto()  #: name, then artist (any case)
    BY_ARTIST = auto()  #: artist, then name
    NEWEST = auto()  #: most recently added first, then by name
    BY_YEAR = auto()  #: oldest year first, then by name
    BY_YEAR_DESC = auto()  #: newest year first, then by name descending
    BY_GENRE = auto()  #: by name (with ``genre`` given)


_ALBUM = (
    albums.c.id,
    albums.c.artist_key,
    albums.c.album_key,
    albums.c.artist,
    albums.c.name,
    albums.c.song_count,
    albums.c.duration,
    albums.c.year,
    albums.c.genre,
    albums.c.created,
)
_ARTIST = (artists.c.artist_key, artists.c.name, artists.c.album_count, artists.c.song_count)
_BY_NAME = (albums.c.name_sort, albums.c.artist_sort, albums.c.id)
_ORDERS: dict[AlbumSort, tuple[Any, ...]] = {
    AlbumSort.BY_NAME: _BY_NAME,
    AlbumSort.BY_GENRE: _BY_NAME,
    AlbumSort.BY_ARTIST: (albums.c.artist_sort, albums.c.name_sort, albums.c.id),
    AlbumSort.NEWEST: (albums.c.newest, *_BY_NAME),
    AlbumSort.BY_YEAR: (albums.c.year, *_BY_NAME),
    AlbumSort.BY_YEAR_DESC: tuple(c.desc() for c in (albums.c.year, *_BY_NAME)),
}


#: Pages that end within this many albums of an order's start are read along its index
#: (cheap, and no whole order is read for them); deeper ones are sliced from memory.
SHALLOW_PAGE = 2_000


@dataclass(frozen=True, slots=True)
class _Row:
    row_id: int
    group: AlbumGroup


def _rows(result: Result[Any]) -> Iterator[_Row]:
    for row in result:
        row_id, ak, bk, artist, name, n, d, year, genre, created = tuple(row)
        yield _Row(
            int(row_id),
            AlbumGroup(ak, bk, artist, name, int(n), float(d), year, genre, float(created)),
        )


def _slices(keys: Sequence[str]) -> Iterator[list[str]]:
    keys = list(keys)
    for start in range(0, len(keys), IN_CHUNK):
        yield keys[start : start + IN_CHUNK]


class LibraryRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._orders = AlbumOrders()

    # -- the groups, read from their tables (``store._groups`` keeps them) ---------------

    def version(self) -> int:
        """Changes with every change of the groups: whole answers cached under it stay
        true while it stands still."""
        with self._db.read() as conn:
            return _groups.version(conn)

    def albums(self) -> list[AlbumGroup]:
        return self._albums(select(*_ALBUM).order_by(albums.c.id))

    def album(self, group_id: str) -> AlbumGroup | None:
        found = self._albums(select(*_ALBUM).where(albums.c.group_id == group_id))
        return found[0] if found else None

    def albums_by_id(self, group_ids: Sequence[str]) -> dict[str, AlbumGroup]:
        found: dict[str, AlbumGroup] = {}
        for part in _slices(group_ids):
            for group in self._albums(select(*_ALBUM).where(albums.c.group_id.in_(part))):
                found[group.group_id] = group
        return found

    def artist_albums(self, artist_key: str) -> list[AlbumGroup]:
        """The artist's albums, oldest year first (untagged years first), then by name."""
        return self._albums(
            select(*_ALBUM)
            .where(albums.c.artist_key == artist_key)
            .order_by(func.coalesce(albums.c.year, 0), albums.c.name_sort, albums.c.id)
        )

    def album_page(
        self,
        order: AlbumSort,
        *,
        size: int,
        offset: int,
        years: tuple[int, int] | None = None,
        genre: str | None = None,
    ) -> list[AlbumGroup]:
        """A page of albums in one of the catalog-wide orders, read along its index, or
        past ``SHALLOW_PAGE`` albums in, sliced from the order held in memory
        (``store._album_orders``).

        ``years`` (low, high) keeps albums of those years (``order`` BY_YEAR or
        BY_YEAR_DESC); ``genre`` albums whose genre is that (any case)."""
        if genre is None and offset + size > SHALLOW_PAGE:
            deep = self._deep_page(order, size=size, offset=offset, years=years)
            if deep is not None:
                return deep
        page = select(albums.c.id)
        if years is not None:
            page = page.where(albums.c.year.between(*years))
        if genre is not None:
            page = page.where(albums.c.genre_sort == genre.strip().casefold())
        # The page's ids first, from the index alone (a deep offset skips index entries,
        # not table rows), then those few rows.
        ids = page.order_by(*_ORDERS[order]).limit(size).offset(offset).subquery()
        query = select(*_ALBUM).where(albums.c.id.in_(select(ids.c.id)))
        return self._albums(query.order_by(*_ORDERS[order]))

    def _deep_page(
        self, order: AlbumSort, *, size: int, offset: int, years: tuple[int, int] | None
    ) -> list[AlbumGroup] | None:
        """The page sliced from the order in memory; ``None`` where it does not apply (a
        year order without a range) or where the groups changed between reading the
        order and its rows (the caller then reads along the index)."""
        by_year = order in (AlbumSort.BY_YEAR, AlbumSort.BY_YEAR_DESC)
        if by_year != (years is not None):
            return None
        with self._db.read() as conn:
            if years is None:
                query = select(albums.c.id).order_by(*_ORDERS[order])
                ids = self._orders.read(conn, order, query).ids[offset : offset + size]
            else:
                query = (
                    select(albums.c.id, albums.c.year)
                    .where(albums.c.year.is_not(None))
                    .order_by(*_ORDERS[AlbumSort.BY_YEAR])
                )
                found = self._orders.read(conn, AlbumSort.BY_YEAR, query)
                assert found.keys is not None
                low = int(np.searchsorted(found.keys, years[0], side="left"))
                high = int(np.searchsorted(found.keys, years[1], side="right"))
                if order is AlbumSort.BY_YEAR:
                    ids = found.ids[min(high, low + offset) : min(high, low + offset + size)]
                else:  # the exact reverse of BY_YEAR (every sort key descending)
                    end = max(low, high - offset)
                    ids = found.ids[max(low, end - size) : end][::-1]
            wanted = ids.tolist()
            rows = {
                row.row_id: row.group
                for row in _rows(conn.execute(select(*_ALBUM).where(albums.c.id.in_(wanted))))
            }
        if len(rows) != len(wanted):
            return None
        return [rows[i] for i in wanted]

    def random_albums(self, size: int, *, rng: random.Random) -> list[AlbumGroup]:
        """Up to ``size`` distinct albums, drawn at random without sorting the table.

        Every album holds a uniform ``draw`` in [0, 1) (indexed); each pick is the first
        album at or after a random point, an index probe, so a big library costs ``size``
        probes in one statement. Two probes landing on one album are drawn again; a library
        too small for that to end soon is sampled from all its ids."""
        chosen: list[int] = []
        with self._db.read() as conn:
            for _ in range(4):
                probes = [
                    select(albums.c.id)
                    .where(albums.c.draw >= rng.random())
                    .order_by(albums.c.draw)
                    .limit(1)
                    .scalar_subquery()
                    for _ in range(size - len(chosen))
                ]
                seen = set(chosen)
                for found in conn.execute(select(*probes)).one():
                    if found is not None and found not in seen:
                        seen.add(found)
                        chosen.append(found)
                if len(chosen) >= size:
                    break
            else:
                every = list(conn.scalars(select(albums.c.id)))
                if len(every) > len(chosen):
                    chosen = rng.sample(every, min(size, len(every)))
            rows = {
                g.row_id: g.group
                for g in _rows(conn.execute(select(*_ALBUM).where(albums.c.id.in_(chosen))))
            }
        return [rows[i] for i in chosen if i in rows]

    def played_albums(
        self, user_id: str, *, recent: bool, size: int, offset: int
    ) -> list[AlbumGroup]:
        """The listener's played albums, most plays (or last played) first; read along
        the album play counters' index (``album_plays``), never the interaction log."""
        key = album_plays.c.last_played if recent else album_plays.c.plays
        return self._listener_albums(album_plays, key, user_id, size=size, offset=offset)

    def rated_albums(self, user_id: str, *, size: int, offset: int) -> list[AlbumGroup]:
        """The listener's rated albums, best mean rating first (``album_ratings``)."""
        return self._listener_albums(
            album_ratings, album_ratings.c.mean, user_id, size=size, offset=offset
        )

    def _listener_albums(
        self, table: Table, key: Any, user_id: str, *, size: int, offset: int
    ) -> list[AlbumGroup]:
        """Albums in ``table``'s order for one listener: ``key`` descending, ties by the
        album's natural key descending, which is the index's order read backwards, so the
        page is read without sorting the listener's albums.

        The page is cut from ``table``'s index alone, then its few rows are joined to
        ``albums``: joining first costs a probe into ``albums`` per skipped row (a deep
        offset into a listener's thousands of albums), and PostgreSQL, which cannot
        estimate that join, hashes all of ``albums`` instead. Every row of ``table`` has
        its album (``store._groups`` keeps them so), so the join drops nothing."""
        order = (key.desc(), table.c.artist_key.desc(), table.c.album_key.desc())
        page = (
            select(table.c.artist_key, table.c.album_key, key.label("key"))
            .where(table.c.user_id == user_id)
            .order_by(*order)
            .limit(size)
            .offset(offset)
            .subquery()
        )
        query = (
            select(*_ALBUM)
            .select_from(
                page.join(
                    albums,
                    and_(
                        albums.c.artist_key == page.c.artist_key,
                        albums.c.album_key == page.c.album_key,
                    ),
                )
            )
            .order_by(page.c.key.desc(), page.c.artist_key.desc(), page.c.album_key.desc())
        )
        return self._albums(query)

    def starred_albums(self, user_id: str, *, size: int, offset: int) -> list[AlbumGroup]:
        """The listener's starred albums, in the order they were starred."""
        query = (
            select(*_ALBUM)
            .select_from(favorites.join(albums, albums.c.group_id == favorites.c.item_key))
            .where(favorites.c.user_id == user_id, favorites.c.kind == "album")
            .order_by(favorites.c.created_at, albums.c.id)
            .limit(size)
            .offset(offset)
        )
        return self._albums(query)

    def artists(self) -> list[ArtistGroup]:
        """Every artist, by name (any case)."""
        return self._artists(select(*_ARTIST).order_by(artists.c.name_sort, artists.c.id))

    def search_artists(self, needle: str | None, *, limit: int, offset: int) -> list[ArtistGroup]:
        """Artists whose name matches ``needle`` (every word: ``store._search``), paged.

        Matches come in the index's order (the group's row id), so a page reads no further
        than it shows and pages are stable until the artist's tracks next change (a
        refresh rewrites a group under a new id); an empty needle pages every artist by
        name along ``ix_artists_by_name``."""
        by_name = (artists.c.name_sort, artists.c.id)
        return self._artists(self._matching(_ARTIST, ARTISTS, needle, by_name, limit, offset))

    def search_albums(self, needle: str | None, *, limit: int, offset: int) -> list[AlbumGroup]:
        """Albums whose name or artist matches ``needle`` (every word, each in either),
        paged like ``search_artists``; an empty needle pages every album by name, then
        artist (``ix_albums_by_name``)."""
        return self._albums(self._matching(_ALBUM, ALBUMS, needle, _BY_NAME, limit, offset))

    def _matching(
        self,
        columns: tuple[Any, ...],
        target: SearchTarget,
        needle: str | None,
        by_name: tuple[Any, ...],
        limit: int,
        offset: int,
    ) -> Select[Any]:
        with self._db.read() as conn:
            match = text_match(conn, needle, sqlite=self._db.is_sqlite, target=target)
        if match is None:
            query = select(*columns).order_by(*by_name)
        else:
            query = (
                select(*columns)
                .select_from(match.source)
                .where(match.condition)
                .order_by(match.order)
            )
        return query.limit(limit).offset(offset)

    def artist(self, group_id: str) -> ArtistGroup | None:
        found = self._artists(select(*_ARTIST).where(artists.c.group_id == group_id))
        return found[0] if found else None

    def artists_by_id(self, group_ids: Sequence[str]) -> dict[str, ArtistGroup]:
        found: dict[str, ArtistGroup] = {}
        for part in _slices(group_ids):
            for group in self._artists(select(*_ARTIST).where(artists.c.group_id.in_(part))):
                found[group.group_id] = group
        return found

    def artist_named(self, name: str) -> ArtistGroup | None:
        """The first artist (by id) whose name is ``name`` in any case."""
        query = (
            select(*_ARTIST)
            .where(artists.c.name_sort == name.strip().casefold())
            .order_by(artists.c.id)
            .limit(1)
        )
        found = self._artists(query)
        return found[0] if found else None

    def genres(self) -> list[GenreCount]:
        query = select(genres.c.genre, genres.c.song_count, genres.c.album_count).order_by(
            genres.c.genre
        )
        with self._db.read() as conn:
            return [GenreCount(g, int(n), int(a)) for g, n, a in conn.execute(query).all()]

    def _albums(self, query: Select[Any]) -> list[AlbumGroup]:
        with self._db.read() as conn:
            return [found.group for found in _rows(conn.execute(query))]

    def _artists(self, query: Select[Any]) -> list[ArtistGroup]:
        with self._db.read() as conn:
            return [ArtistGroup(ak, name, int(a), int(n)) for ak, name, a, n in conn.execute(query)]

    def album_tracks(self, artist_key: str, album_key: str) -> list[Track]:
        return self._tracks(_groups.artist_in([artist_key]), _album_key == album_key)

    def artist_tracks(self, artist_key: str) -> list[Track]:
        return self._tracks(_groups.artist_in([artist_key]))

    def genre_tracks(self, genre: str, *, limit: int, offset: int) -> list[Track]:
        return self._tracks(
            func.lower(tracks.c.genre) == genre.strip().lower(), limit=limit, offset=offset
        )

    def random_tracks(
        self,
        size: int,
        *,
        genre: str | None = None,
        from_year: int | None = None,
        to_year: int | None = None,
    ) -> list[Track]:
        conditions: list[ColumnElement[bool]] = []
        if genre:
            conditions.append(func.lower(tracks.c.genre) == genre.strip().lower())
        if from_year is not None:
            conditions.append(tracks.c.year >= from_year)
        if to_year is not None:
            conditions.append(tracks.c.year <= to_year)
        query = select(*TRACK_COLUMNS).where(_PLAYABLE, *conditions).order_by(func.random())
        with self._db.read() as conn:
            return [row_to_track(r) for r in conn.execute(query.limit(size)).mappings()]

    def search(self, needle: str | None, *, limit: int, offset: int) -> list[Track]:
        """Playable songs matching ``needle`` (every word, in title, artist or album: see
        ``store._search``), in id order, paged; every playable song when it has no words."""
        with self._db.read() as conn:
            source: FromClause = tracks
            order: Any = tracks.c.id
            # No words: walk the primary key in order and stop at the page (with the
            # indexable ``_PLAYABLE``, SQLite read every playable track along
            # ``ix_tracks_unresolved`` and sorted them: 80 ms at 100k tracks).
            conditions: list[ColumnElement[bool]] = [_groups.PLAYABLE_ROW]
            match = text_match(conn, needle, sqlite=self._db.is_sqlite)
            if match is not None:
                source, order = match.source, match.order
                conditions = [_PLAYABLE, match.condition]
            query = (
                select(*TRACK_COLUMNS)
                .select_from(source)
                .where(*conditions)
                .order_by(order)
                .limit(limit)
                .offset(offset)
            )
            return [row_to_track(r) for r in conn.execute(query).mappings()]

    def playable(self, track_ids: Sequence[int]) -> set[int]:
        """Which of ``track_ids`` are live, playable songs."""
        found: set[int] = set()
        with self._db.read() as conn:
            for chunk in chunks(track_ids):
                found.update(
                    int(t)
                    for t in conn.scalars(
                        select(tracks.c.id).where(_PLAYABLE, tracks.c.id.in_(chunk))
                    )
                )
        return found

    def _tracks(
        self, *conditions: ColumnElement[bool], limit: int | None = None, offset: int = 0
    ) -> list[Track]:
        query = (
            select(*TRACK_COLUMNS)
            .where(_groups.PLAYABLE_ROW, *conditions)
            .order_by(tracks.c.album, tracks.c.path, tracks.c.title, tracks.c.id)
            .offset(offset)
        )
        if limit is not None:
            query = query.limit(limit)
        with self._db.read() as conn:
            return [row_to_track(r) for r in conn.execute(query).mappings()]

    def file_size(self, track_id: int) -> int | None:
        query = select(tracks.c.size).where(and_(tracks.c.id == track_id, _LIVE))
        with self._db.read() as conn:
            found: Any = conn.execute(query).scalar()
        return None if found is None else int(found)
