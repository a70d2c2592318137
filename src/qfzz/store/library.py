"""Browsing the catalog the way music apps do: albums, artists and genres.

QFZZ stores tracks only; albums and artists are *groups* of tracks, computed here in SQL.
An artist is the tracks sharing a creator id (``normalise_creator(artist)``); an album is
the tracks sharing an artist and an album title (exactly as tagged) (untagged tracks form one
album per artist, with ``name`` ``None``). Only *playable* tracks (a file QFZZ can stream)
count: metadata-only dataset tracks never appear in a group, a song list or a search, and
a group of nothing but such tracks does not exist here, so every page is filled in SQL.
Callers name a group by its natural key ``(artist_key, album_key)``; their stable ids are
digests of those keys (``qfzz.models``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, FromClause, and_, func, select

from qfzz.models import AlbumGroup, ArtistGroup, GenreCount, InteractionType, Track
from qfzz.store._database import Database
from qfzz.store._rows import TRACK_COLUMNS, chunks, row_to_track
from qfzz.store._schema import interactions, ratings, tracks
from qfzz.store._search import text_match

_artist_key = func.coalesce(tracks.c.creator_id, func.lower(tracks.c.artist))
_album_key = func.coalesce(tracks.c.album, "")
_LIVE = tracks.c.removed.is_(False)
_PLAYABLE = and_(_LIVE, tracks.c.playable.is_(True))


class LibraryRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def albums(self) -> list[AlbumGroup]:
        query = (
            select(
                _artist_key.label("ak"),
                _album_key.label("bk"),
                func.min(tracks.c.artist),
                func.min(tracks.c.album),
                func.count(),
                func.sum(func.coalesce(tracks.c.duration, 0.0)),
                func.max(tracks.c.year),
                func.min(tracks.c.genre),
                func.min(tracks.c.added_at),
            )
            .where(_PLAYABLE)
            .group_by(_artist_key, _album_key)
        )
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        return [
            AlbumGroup(ak, bk, artist, name, int(n), float(d or 0.0), year, genre, float(c))
            for ak, bk, artist, name, n, d, year, genre, c in rows
        ]

    def artists(self) -> list[ArtistGroup]:
        query = (
            select(
                _artist_key,
                func.min(tracks.c.artist),
                func.count(func.distinct(_album_key)),
                func.count(),
            )
            .where(_PLAYABLE)
            .group_by(_artist_key)
        )
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        return [ArtistGroup(k, name, int(a), int(n)) for k, name, a, n in rows]

    def genres(self) -> list[GenreCount]:
        query = (
            select(
                tracks.c.genre,
                func.count(),
                func.count(func.distinct(_artist_key + "\x1f" + _album_key)),
            )
            .where(_PLAYABLE, tracks.c.genre.is_not(None))
            .group_by(tracks.c.genre)
            .order_by(tracks.c.genre)
        )
        with self._db.read() as conn:
            return [GenreCount(g, int(n), int(a)) for g, n, a in conn.execute(query).all()]

    def album_tracks(self, artist_key: str, album_key: str) -> list[Track]:
        return self._tracks(_artist_key == artist_key, _album_key == album_key)

    def artist_tracks(self, artist_key: str) -> list[Track]:
        return self._tracks(_artist_key == artist_key)

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
            conditions: list[ColumnElement[bool]] = []
            match = text_match(conn, needle, sqlite=self._db.is_sqlite)
            if match is not None:
                source, order = match.source, match.order
                conditions.append(match.condition)
            query = (
                select(*TRACK_COLUMNS)
                .select_from(source)
                .where(_PLAYABLE, *conditions)
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
            .where(_PLAYABLE, *conditions)
            .order_by(tracks.c.album, tracks.c.path, tracks.c.title, tracks.c.id)
            .offset(offset)
        )
        if limit is not None:
            query = query.limit(limit)
        with self._db.read() as conn:
            return [row_to_track(r) for r in conn.execute(query).mappings()]

    # -- per-listener statistics by album (for album lists) -------------------------------

    def album_plays(self, user_id: str) -> dict[tuple[str, str], tuple[int, float]]:
        """``(artist_key, album_key) → (plays, last played)`` for one listener."""
        query = (
            select(_artist_key, _album_key, func.count(), func.max(interactions.c.created_at))
            .select_from(interactions.join(tracks, tracks.c.id == interactions.c.track_id))
            .where(
                interactions.c.user_id == user_id,
                interactions.c.type == InteractionType.PLAY.value,
            )
            .group_by(_artist_key, _album_key)
        )
        with self._db.read() as conn:
            return {(a, b): (int(n), float(t)) for a, b, n, t in conn.execute(query).all()}

    def album_ratings(self, user_id: str) -> dict[tuple[str, str], float]:
        """``(artist_key, album_key) → mean 1–5 rating`` of the listener's rated tracks."""
        query = (
            select(_artist_key, _album_key, func.avg(ratings.c.rating))
            .select_from(ratings.join(tracks, tracks.c.id == ratings.c.track_id))
            .where(ratings.c.user_id == user_id)
            .group_by(_artist_key, _album_key)
        )
        with self._db.read() as conn:
            return {(a, b): float(r) for a, b, r in conn.execute(query).all()}

    def file_size(self, track_id: int) -> int | None:
        query = select(tracks.c.size).where(and_(tracks.c.id == track_id, _LIVE))
        with self._db.read() as conn:
            found: Any = conn.execute(query).scalar()
        return None if found is None else int(found)
