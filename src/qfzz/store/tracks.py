"""The catalog's tracks: scanned files and dataset records."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, FromClause, func, select, update

from qfzz.models import ScannedFile, Track, TrackMeta, normalise_creator
from qfzz.store import _column_part, _groups
from qfzz.store._columns import CHUNK, ColumnKind, pages, read_columns
from qfzz.store._database import Database
from qfzz.store._feature_columns import FeatureColumns, joined
from qfzz.store._rows import IN_CHUNK, TRACK_COLUMNS, chunks, meta_values, row_to_track
from qfzz.store._schema import tracks
from qfzz.store._search import counted_page, text_match


@dataclass(frozen=True, slots=True)
class FileState:
    """What the scanner needs to decide whether a file changed since the last scan."""

    track_id: int
    size: int | None
    mtime: float | None
    removed: bool


#: Catalogs from this many tracks (by highest id) are read by two processes at once:
#: below it a second process's start costs more than it saves.
SPLIT_FROM = 200_000

_FEATURE_KINDS: tuple[ColumnKind, ...] = (np.int64, str, str, str, np.float64, np.float64, np.bool_)


class TrackRepository:
    """The one writer of ``tracks``: every change refreshes the library's groups in its
    own transaction (``store._groups``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def file_states(self) -> dict[str, FileState]:
        query = select(tracks.c.id, tracks.c.path, tracks.c.size, tracks.c.mtime, tracks.c.removed)
        with self._db.read() as conn:
            rows = conn.execute(query.where(tracks.c.path.is_not(None))).all()
        return {row.path: FileState(row.id, row.size, row.mtime, bool(row.removed)) for row in rows}

    def upsert_files(self, files: Sequence[ScannedFile], *, now: float) -> list[int]:
        """Insert new files and refresh changed ones, in one transaction."""
        if not files:
            return []
        with self._db.write() as conn:
            before = {
                path: (track_id, ak, bk)
                for path, track_id, ak, bk in conn.execute(
                    select(tracks.c.path, tracks.c.id, _groups.artist_key, _groups.album_key).where(
                        tracks.c.path.in_([f.path for f in files])
                    )
                ).all()
            }
            existing = {path: found[0] for path, found in before.items()}
            touched: set[str] = set()
            moved: set[str] = set()
            for scanned in files:
                now_key = (normalise_creator(scanned.meta.artist), scanned.meta.album or "")
                touched.add(now_key[0])
                if scanned.path in before:
                    old_key = before[scanned.path][1:]
                    touched.add(old_key[0])
                    if old_key != now_key:
                        moved.update((old_key[0], now_key[0]))
            ids: list[int] = []
            for scanned in files:
                values = _file_values(scanned)
                if scanned.path in existing:
                    track_id = existing[scanned.path]
                    conn.execute(update(tracks).where(tracks.c.id == track_id).values(**values))
                else:
                    track_id = int(
                        conn.execute(
                            tracks.insert().values(added_at=now, **values).returning(tracks.c.id)
                        ).scalar_one()
                    )
                ids.append(track_id)
            _groups.refresh(conn, touched, moved=moved)
        return ids

    def mark_removed(self, paths: Iterable[str]) -> list[int]:
        """Take files that disappeared out of the catalog; their interactions stay."""
        paths = list(paths)
        if not paths:
            return []
        with self._db.write() as conn:
            ids = list(conn.scalars(select(tracks.c.id).where(tracks.c.path.in_(paths))))
            conn.execute(
                update(tracks).where(tracks.c.id.in_(ids)).values(removed=True, playable=False)
            )
            _groups.refresh(conn, _groups.artist_keys_of(conn, ids))
        return ids

    def set_playable(self, track_id: int, playable: bool) -> None:
        with self._db.write() as conn:
            conn.execute(update(tracks).where(tracks.c.id == track_id).values(playable=playable))
            _groups.refresh(conn, _groups.artist_keys_of(conn, [track_id]))

    def unresolved(self, *, limit: int, origin: str | None = None, after: int = 0) -> list[Track]:
        """Dataset tracks still without audio (the resolver's work list), by id after
        ``after``; ``origin`` narrows it to one platform's records."""
        conditions: list[Any] = [
            tracks.c.playable.is_(False),
            tracks.c.path.is_(None),
            tracks.c.removed.is_(False),
            tracks.c.id > after,
        ]
        if origin is not None:
            conditions.append(tracks.c.origin == origin)
        query = select(*TRACK_COLUMNS).where(*conditions).order_by(tracks.c.id).limit(limit)
        with self._db.read() as conn:
            return [row_to_track(row) for row in conn.execute(query).mappings()]

    def attach_file(
        self, track_id: int, path: str, *, size: int, mtime: float, duration: float | None
    ) -> bool:
        """Give a dataset track the audio file the resolver found: playable, its metadata
        kept (the duration filled in only where the dataset had none). False when the track
        already had a file or is gone (another resolver was first)."""
        values: dict[str, Any] = {"path": path, "size": size, "mtime": mtime, "playable": True}
        if duration is not None:
            values["duration"] = func.coalesce(tracks.c.duration, duration)
        with self._db.write() as conn:
            result = conn.execute(
                update(tracks)
                .where(
                    tracks.c.id == track_id, tracks.c.path.is_(None), tracks.c.removed.is_(False)
                )
                .values(**values)
            )
            if result.rowcount:
                _groups.refresh(conn, _groups.artist_keys_of(conn, [track_id]))
        return bool(result.rowcount)

    def insert_metadata_tracks(
        self,
        conn: Connection,
        metas: Sequence[TrackMeta],
        content_ids: Sequence[str],
        *,
        dataset_id: int,
        now: float,
    ) -> list[int]:
        """Add dataset records (no audio yet) inside the caller's transaction.

        They are not playable, so no group holds them and there is nothing to refresh
        (``attach_file`` refreshes their artist when one gets its audio)."""
        rows = [
            {
                **meta_values(meta),
                "path": None,
                "size": None,
                "mtime": None,
                "content_id": content_id,
                "creator_id": normalise_creator(meta.artist),
                "dataset_id": dataset_id,
                "playable": False,
                "removed": False,
                "added_at": now,
            }
            for meta, content_id in zip(metas, content_ids, strict=True)
        ]
        result = conn.execute(
            tracks.insert().returning(tracks.c.id, sort_by_parameter_order=True), rows
        )
        ids = [int(track_id) for track_id in result.scalars()]
        return ids

    def get(self, track_id: int) -> Track | None:
        with self._db.read() as conn:
            row = (
                conn.execute(
                    select(*TRACK_COLUMNS).where(
                        tracks.c.id == track_id, tracks.c.removed.is_(False)
                    )
                )
                .mappings()
                .first()
            )
        return row_to_track(row) if row else None

    def get_many(self, track_ids: Sequence[int]) -> dict[int, Track]:
        found: dict[int, Track] = {}
        with self._db.read() as conn:
            for part in chunks(track_ids):
                rows = conn.execute(select(*TRACK_COLUMNS).where(tracks.c.id.in_(part)))
                found.update((row["id"], row_to_track(row)) for row in rows.mappings())
        return found

    def count(self) -> int:
        with self._db.read() as conn:
            query = select(func.count()).select_from(tracks).where(tracks.c.removed.is_(False))
            return int(conn.execute(query).scalar_one())

    def search(
        self,
        *,
        q: str | None = None,
        genre: str | None = None,
        artist: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[int, list[Track]]:
        """Live tracks matching ``q`` (every word, in title, artist or album: see
        ``store._search``) and the exact genre and artist given, in id order, with their
        count, which stops at ``SEARCH_COUNT_CAP + 1``."""
        conditions: list[Any] = [tracks.c.removed.is_(False)]
        source: FromClause = tracks
        order: Any = tracks.c.id
        if genre:
            conditions.append(func.lower(tracks.c.genre) == genre.strip().lower())
        if artist:
            conditions.append(func.lower(tracks.c.artist) == artist.strip().lower())
        with self._db.read() as conn:
            match = text_match(conn, q, sqlite=self._db.is_sqlite)
            if match is not None:
                source, order = match.source, match.order
                conditions.append(match.condition)
            total, rows = counted_page(conn, source, conditions, order, limit=limit, offset=offset)
        return total, [row_to_track(row) for row in rows]

    def trust_identities(
        self, track_ids: Sequence[int] = (), *, content_ids: Sequence[str] = ()
    ) -> list[tuple[int, str | None, str | None]]:
        """``(track_id, content_id, creator_id)`` of the given tracks and of every track
        holding one of ``content_ids`` (removed ones too), by track id.

        The trust ledger asks only about tracks it has records or votes for, so this
        reads a few rows through the primary key and the content id index, never the
        whole catalog.
        """
        found: dict[int, tuple[int, str | None, str | None]] = {}
        columns = (tracks.c.id, tracks.c.content_id, tracks.c.creator_id)
        wanted: list[tuple[Any, Sequence[Any]]] = [
            (tracks.c.id, list(track_ids)),
            (tracks.c.content_id, list(content_ids)),
        ]
        with self._db.read() as conn:
            for column, values in wanted:
                for start in range(0, len(values), IN_CHUNK):
                    part = values[start : start + IN_CHUNK]
                    rows = conn.execute(select(*columns).where(column.in_(part)))
                    found.update((int(i), (int(i), c, a)) for i, c, a in rows)
        return [found[track_id] for track_id in sorted(found)]

    def columns_version(self) -> tuple[int, int]:
        """What ``feature_columns`` would read, as two numbers that change whenever it
        would: the library's change counter, which every write method here moves in its
        own transaction (``_groups.refresh``), and the highest track id, which the one
        write without a group change (a dataset's records) moves. A copy of the columns
        kept under this key is current while the key is."""
        with self._db.read() as conn:
            version = _groups.version(conn)
            highest = conn.execute(select(func.max(tracks.c.id))).scalar()
        return version, int(highest or 0)

    def feature_columns(
        self,
        *,
        page: int = CHUNK,
        id_range: tuple[int, int] | None = None,
        split_from: int | None = SPLIT_FROM,
    ) -> FeatureColumns:
        """Every live track's features (``low < id <= high`` with ``id_range``), read
        ``page`` rows at a time (``read_columns``). From ``split_from`` tracks on, on a
        machine with a second core, the highest ids are read by a second process at the
        same time (``store._column_part``); if it fails, they are read here after all."""
        if id_range is not None or split_from is None or (os.cpu_count() or 1) < 2:
            return self._columns_between(id_range, page)
        with self._db.read() as conn:
            highest = int(conn.execute(select(func.max(tracks.c.id))).scalar() or 0)
        split = int(highest * (1 - _column_part.CHILD_SHARE))
        child = _column_part.spawn(self._db.url, split, highest) if highest >= split_from else None
        if child is None:
            return self._columns_between(None, page)
        mine = self._columns_between((0, split), page)
        theirs = _column_part.collect(child)
        if theirs is None:
            theirs = self._columns_between((split, highest), page)
        return joined(mine, theirs)

    def _columns_between(self, id_range: tuple[int, int] | None, page: int) -> FeatureColumns:
        """The live tracks' features with ``low < id <= high`` (all without a range), in
        one read transaction."""
        query = select(
            tracks.c.id,
            tracks.c.artist,
            tracks.c.genre,
            tracks.c.mood,
            tracks.c.energy,
            tracks.c.tempo,
            tracks.c.playable,
        ).where(tracks.c.removed.is_(False))
        after = None
        if id_range is not None:
            after = id_range[0]
            query = query.where(tracks.c.id <= id_range[1])
        with self._db.read() as conn:
            rows = pages(conn, query, tracks.c.id, size=page, after=after)
            return FeatureColumns(*read_columns(rows, _FEATURE_KINDS))


def _file_values(scanned: ScannedFile) -> dict[str, Any]:
    return {
        **meta_values(scanned.meta),
        "path": scanned.path,
        "size": scanned.size,
        "mtime": scanned.mtime,
        "content_id": scanned.content_id,
        "creator_id": normalise_creator(scanned.meta.artist),
        "dataset_id": None,
        "playable": True,
        "removed": False,
    }
