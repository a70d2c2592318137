"""The library's groups (albums, artists, genres) kept in step with the tracks.

Browsing a million tracks cannot group them on every request, so the groups are tables,
and this module is their one writer. Every repository method that changes a track calls
:func:`refresh` in its own write transaction, with the artist keys the change touched
(before and after): a committed track change and its groups are one atomic unit, and a
reader can never see them disagree.

Why maintenance here and not database triggers: a group's public id is a BLAKE2b digest
of its natural key (``qfzz.models.album_group_id``), which neither SQLite nor PostgreSQL
can compute, and ids must not change (listeners' stars and apps' caches hold them). So the
refresh runs in Python inside the writing transaction; ``tests/architecture`` checks that
nothing but ``store.tracks`` writes the ``tracks`` table, so no write can bypass it.

A refresh recomputes the touched *artists* whole from their tracks (along the index
``tracks (creator_id, playable, removed)``), which keeps it exact for every aggregate (a
minimum or a maximum cannot be decremented) at a cost bounded by the artist's size; the
genres' counts then change by the difference between the artists' old and new
``album_genres`` rows (sums and counts can be decremented).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    case,
    delete,
    func,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from qfzz.models import InteractionType, album_group_id, artist_group_id
from qfzz.store._schema import (
    album_genres,
    album_plays,
    album_ratings,
    albums,
    artists,
    genres,
    interactions,
    library_version,
    ratings,
    tracks,
)

#: A track's artist key and album key, as ``qfzz.models.track_artist_key`` /
#: ``track_album_key`` compute them (every write sets ``creator_id``).
artist_key = func.coalesce(tracks.c.creator_id, func.lower(tracks.c.artist))
album_key = func.coalesce(tracks.c.album, "")
LIVE = tracks.c.removed.is_(False)
PLAYABLE = and_(LIVE, tracks.c.playable.is_(True))
#: ``PLAYABLE`` in a form no index serves, for queries led by ``artist_in``: SQLite
#: without statistics would otherwise walk ``ix_tracks_unresolved (playable, …)``, i.e.
#: every playable track, instead of the artist's few.
PLAYABLE_ROW = and_(
    func.coalesce(tracks.c.removed, True).is_(False),
    func.coalesce(tracks.c.playable, False).is_(True),
)

#: A track's album exists (has a row in ``albums``): the join that keeps the per-listener
#: album tables (``album_plays``, ``album_ratings``) to albums that exist, so a listener's
#: page of them is read from their own index alone and joined to ``albums`` afterwards
#: (``store.library``), with no row the join could drop. A play or a rating of a track
#: whose album does not exist (no playable track) is counted when the album appears.
_existing_album = (
    albums,
    and_(albums.c.artist_key == artist_key, albums.c.album_key == album_key),
)

#: Each album's ``draw``: uniform, so a random list can probe it (not a secret).
_draws = random.Random()

#: Keys per ``IN (...)`` list (each key is bound twice, see ``_artist_in``).
_CHUNK = 5_000


def _chunks(keys: Collection[str]) -> Iterator[list[str]]:
    ordered = sorted(keys)
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start : start + _CHUNK]


def artist_in(keys: Sequence[str]) -> ColumnElement[bool]:
    """``artist_key IN keys``, in a form the ``(creator_id, …)`` index serves on both
    databases: the ids of the tracks with those creator ids, and of those without a
    creator id whose lower-cased artist is one (rows no QFZZ writer leaves, but the key
    allows), each found along ``ix_tracks_group``."""
    with_creator = select(tracks.c.id).where(tracks.c.creator_id.in_(keys))
    without = select(tracks.c.id).where(
        tracks.c.creator_id.is_(None), func.lower(tracks.c.artist).in_(keys)
    )
    return tracks.c.id.in_(union_all(with_creator, without))


def artist_keys_of(conn: Connection, track_ids: Sequence[int]) -> set[str]:
    """The artist keys the given tracks are grouped under now."""
    found: set[str] = set()
    ids = list(track_ids)
    for start in range(0, len(ids), _CHUNK):
        part = ids[start : start + _CHUNK]
        found.update(conn.scalars(select(artist_key).where(tracks.c.id.in_(part)).distinct()))
    return found


def refresh(conn: Connection, artist_keys: Collection[str], *, moved: Collection[str] = ()) -> None:
    """Recompute the groups of ``artist_keys`` from their tracks, in ``conn``'s transaction.

    ``moved``: artists some of whose tracks changed album (or artist); their listeners'
    album play counters and album ratings are recounted from the interactions and the
    ratings (they are keyed by album, and a play or a rating follows its track). So are
    those of every artist who gained or lost an album here: a counter or a rating exists
    only for an album that does (see ``_existing_album``).
    """
    if not artist_keys and not moved:
        return
    deltas: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # genre → songs, albums
    recount = set(moved)
    for chunk in _chunks(artist_keys):
        in_chunk = albums.c.artist_key.in_(chunk)
        before = {
            (ak, bk)
            for ak, bk in conn.execute(
                select(albums.c.artist_key, albums.c.album_key).where(in_chunk)
            )
        }
        for genre, songs, n_albums in conn.execute(
            select(album_genres.c.genre, func.sum(album_genres.c.song_count), func.count())
            .where(album_genres.c.artist_key.in_(chunk))
            .group_by(album_genres.c.genre)
        ):
            deltas[genre][0] -= int(songs)
            deltas[genre][1] -= int(n_albums)
        conn.execute(delete(albums).where(in_chunk))
        conn.execute(delete(album_genres).where(album_genres.c.artist_key.in_(chunk)))
        conn.execute(delete(artists).where(artists.c.artist_key.in_(chunk)))
        after, album_genre_songs = _insert_groups(conn, artist_in(chunk))
        for genre, songs in album_genre_songs:
            deltas[genre][0] += songs
            deltas[genre][1] += 1
        recount.update(ak for ak, _ in before ^ after)
    _add_to_genres(conn, {g: (n, a) for g, (n, a) in deltas.items() if n or a})
    for chunk in _chunks(recount):
        _recount_plays(conn, chunk)
        _rerate(
            conn,
            artist_in(chunk),
            delete(album_ratings).where(album_ratings.c.artist_key.in_(chunk)),
        )
    conn.execute(
        update(library_version)
        .where(library_version.c.id == 1)
        .values(version=library_version.c.version + 1)
    )


def rebuild(conn: Connection) -> None:
    """Every group from scratch (the migration's backfill; a repair); every album is
    new to ``refresh``, which counts its plays and ratings."""
    for table in (albums, album_genres, artists, genres, album_plays, album_ratings):
        conn.execute(delete(table))
    refresh(conn, set(conn.scalars(select(artist_key).where(PLAYABLE).distinct())))


def rate(conn: Connection, user_id: str, track_id: int) -> None:
    """Recompute the listener's mean rating of the track's album, in the transaction
    that stored (or removed) the rating."""
    found = conn.execute(select(artist_key, album_key).where(tracks.c.id == track_id)).first()
    if found is None:
        return
    ak, bk = found
    _rerate(
        conn,
        and_(artist_in([ak]), album_key == bk, ratings.c.user_id == user_id),
        delete(album_ratings).where(
            album_ratings.c.user_id == user_id,
            album_ratings.c.artist_key == ak,
            album_ratings.c.album_key == bk,
        ),
    )


def _rerate(conn: Connection, where: ColumnElement[bool], clear: Any) -> None:
    """Replace the album ratings ``clear`` deletes by the means of the ratings of the
    tracks ``where`` selects, for albums that exist."""
    conn.execute(clear)
    query = (
        select(ratings.c.user_id, artist_key, album_key, func.avg(ratings.c.rating))
        .select_from(ratings.join(tracks, tracks.c.id == ratings.c.track_id).join(*_existing_album))
        .where(where)
        .group_by(ratings.c.user_id, artist_key, album_key)
    )
    rows = [
        {"user_id": u, "artist_key": a, "album_key": b, "mean": float(m)}
        for u, a, b, m in conn.execute(query).all()
    ]
    if rows:
        conn.execute(album_ratings.insert(), rows)


def _insert_groups(
    conn: Connection, where: ColumnElement[bool]
) -> tuple[set[tuple[str, str]], list[tuple[str, int]]]:
    """Insert the albums, album genres and artists of the tracks ``where`` selects;
    returns the albums' keys and ``(genre, songs)`` per album genre inserted."""
    rows = conn.execute(
        select(
            artist_key,
            album_key,
            func.min(tracks.c.artist),
            func.min(tracks.c.album),
            func.count(),
            func.sum(func.coalesce(tracks.c.duration, 0.0)),
            func.max(tracks.c.year),
            func.min(tracks.c.genre),
            func.min(tracks.c.added_at),
        )
        .where(PLAYABLE_ROW, where)
        .group_by(artist_key, album_key)
    ).all()
    album_rows: list[dict[str, Any]] = []
    by_artist: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for ak, bk, artist, name, n, duration, year, genre, created in rows:
        album_rows.append(
            {
                "group_id": album_group_id(ak, bk),
                "artist_key": ak,
                "album_key": bk,
                "draw": _draws.random(),
                "artist": artist,
                "name": name,
                "song_count": int(n),
                "duration": float(duration or 0.0),
                "year": year,
                "genre": genre,
                "created": float(created),
                "newest": -float(created),
                "name_sort": (name or "").casefold(),
                "artist_sort": artist.casefold(),
                "genre_sort": None if genre is None else genre.strip().casefold(),
            }
        )
        by_artist[ak].append((artist, int(n)))
    if album_rows:
        conn.execute(albums.insert(), album_rows)
    if by_artist:
        conn.execute(
            artists.insert(),
            [
                {
                    "group_id": artist_group_id(ak),
                    "artist_key": ak,
                    "name": (name := min(a for a, _ in members)),
                    "name_sort": name.casefold(),
                    "album_count": len(members),
                    "song_count": sum(n for _, n in members),
                }
                for ak, members in by_artist.items()
            ],
        )
    genre_rows = conn.execute(
        select(artist_key, album_key, tracks.c.genre, func.count())
        .where(PLAYABLE_ROW, tracks.c.genre.is_not(None), where)
        .group_by(artist_key, album_key, tracks.c.genre)
    ).all()
    if genre_rows:
        conn.execute(
            album_genres.insert(),
            [
                {"artist_key": a, "album_key": b, "genre": g, "song_count": int(n)}
                for a, b, g, n in genre_rows
            ],
        )
    inserted = {(row["artist_key"], row["album_key"]) for row in album_rows}
    return inserted, [(g, int(n)) for _, _, g, n in genre_rows]


def _add_to_genres(conn: Connection, deltas: dict[str, tuple[int, int]]) -> None:
    """Add (songs, albums) to each genre's counts (sums and counts can be taken back,
    unlike an album's minimum or maximum), dropping genres left with no song."""
    if not deltas:
        return
    dialect: Any = sqlite if conn.dialect.name == "sqlite" else postgresql
    statement = dialect.insert(genres)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["genre"],
            set_={
                "song_count": genres.c.song_count + statement.excluded.song_count,
                "album_count": genres.c.album_count + statement.excluded.album_count,
            },
        ),
        [{"genre": g, "song_count": n, "album_count": a} for g, (n, a) in sorted(deltas.items())],
    )
    for chunk in _chunks(deltas):
        conn.execute(delete(genres).where(genres.c.genre.in_(chunk), genres.c.song_count <= 0))


def _recount_plays(conn: Connection, keys: Sequence[str]) -> None:
    """Recount the album play counters of the artists ``keys``, for albums that exist."""
    conn.execute(delete(album_plays).where(album_plays.c.artist_key.in_(keys)))
    query = (
        select(
            interactions.c.user_id,
            artist_key,
            album_key,
            func.count(),
            func.max(interactions.c.created_at),
        )
        .select_from(
            interactions.join(tracks, tracks.c.id == interactions.c.track_id).join(*_existing_album)
        )
        .where(interactions.c.type == InteractionType.PLAY.value, artist_in(keys))
        .group_by(interactions.c.user_id, artist_key, album_key)
    )
    rows = [
        {"user_id": u, "artist_key": a, "album_key": b, "plays": int(n), "last_played": float(t)}
        for u, a, b, n, t in conn.execute(query).all()
    ]
    if rows:
        conn.execute(album_plays.insert(), rows)


def count_plays(conn: Connection, plays: Sequence[tuple[str, int, float]]) -> None:
    """Add committed plays ``(user_id, track_id, at)`` to the counters of their albums
    that exist, in the transaction that stores them."""
    if not plays:
        return
    ids = sorted({track_id for _, track_id, _ in plays})
    keys: dict[int, tuple[str, str]] = {}
    for start in range(0, len(ids), _CHUNK):
        part = ids[start : start + _CHUNK]
        found = conn.execute(
            select(tracks.c.id, artist_key, album_key)
            .select_from(tracks.join(*_existing_album))
            .where(tracks.c.id.in_(part))
        ).all()
        keys.update((int(i), (a, b)) for i, a, b in found)
    counted: dict[tuple[str, str, str], list[float]] = {}
    for user_id, track_id, at in plays:
        if track_id not in keys:
            continue
        ak, bk = keys[track_id]
        slot = counted.setdefault((user_id, ak, bk), [0, at])
        slot[0] += 1
        slot[1] = max(slot[1], at)
    counters: list[dict[str, Any]] = [
        {"user_id": u, "artist_key": a, "album_key": b, "plays": int(n), "last_played": t}
        for (u, a, b), (n, t) in sorted(counted.items())
    ]
    if not counters:
        return
    dialect: Any = sqlite if conn.dialect.name == "sqlite" else postgresql
    statement = dialect.insert(album_plays)
    excluded = statement.excluded
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["user_id", "artist_key", "album_key"],
            set_={
                "plays": album_plays.c.plays + excluded.plays,
                "last_played": case(
                    (excluded.last_played > album_plays.c.last_played, excluded.last_played),
                    else_=album_plays.c.last_played,
                ),
            },
        ),
        counters,
    )


def version(conn: Connection) -> int:
    """The groups' change counter (see ``library_version``)."""
    return int(conn.execute(select(library_version.c.version)).scalar_one())
