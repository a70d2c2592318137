"""What each listener keeps: favorites (stars), ratings, playlists and a saved play queue.

These tables are the current state; the interaction log stays the record of what
happened (a star also logs a ``favorite`` interaction, a rating a ``rate`` one).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, delete, func, or_, select, update

from qfzz.models import PlayQueue, UserPlaylist
from qfzz.store import _groups
from qfzz.store._database import Database
from qfzz.store._schema import (
    favorites,
    play_queues,
    ratings,
    user_playlist_tracks,
    user_playlists,
)
from qfzz.store._upsert import upsert


class CollectionRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- favorites ----------------------------------------------------------------------

    def star(self, user_id: str, kind: str, keys: Iterable[str], *, now: float) -> list[str]:
        """Add favorites; returns the keys that were not starred before."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return []
        with self._db.write() as conn:
            present = set(
                conn.scalars(
                    select(favorites.c.item_key).where(
                        favorites.c.user_id == user_id,
                        favorites.c.kind == kind,
                        favorites.c.item_key.in_(wanted),
                    )
                )
            )
            added = [k for k in wanted if k not in present]
            if added:
                conn.execute(
                    favorites.insert(),
                    [
                        {"user_id": user_id, "kind": kind, "item_key": k, "created_at": now}
                        for k in added
                    ],
                )
        return added

    def unstar(self, user_id: str, kind: str, keys: Iterable[str]) -> None:
        wanted = list(keys)
        if not wanted:
            return
        with self._db.write() as conn:
            conn.execute(
                delete(favorites).where(
                    favorites.c.user_id == user_id,
                    favorites.c.kind == kind,
                    favorites.c.item_key.in_(wanted),
                )
            )

    def stars(self, user_id: str, kind: str, keys: Sequence[str] | None = None) -> dict[str, float]:
        """The listener's starred ``kind`` items — every one, or only those among ``keys``
        (a page's: the primary key's prefix finds them, however many else are starred) —
        as ``item_key → starred at``."""
        query = select(favorites.c.item_key, favorites.c.created_at).where(
            favorites.c.user_id == user_id, favorites.c.kind == kind
        )
        if keys is not None:
            if not keys:
                return {}
            query = query.where(favorites.c.item_key.in_(sorted(set(keys))))
        with self._db.read() as conn:
            return {key: float(at) for key, at in conn.execute(query).all()}

    def starred(self, user_id: str) -> dict[str, dict[str, float]]:
        """``kind → {item_key: starred at}``, oldest first."""
        query = (
            select(favorites.c.kind, favorites.c.item_key, favorites.c.created_at)
            .where(favorites.c.user_id == user_id)
            .order_by(favorites.c.created_at, favorites.c.item_key)
        )
        out: dict[str, dict[str, float]] = {}
        with self._db.read() as conn:
            for kind, key, at in conn.execute(query).all():
                out.setdefault(kind, {})[key] = float(at)
        return out

    # -- ratings ------------------------------------------------------------------------

    def set_rating(self, user_id: str, track_id: int, rating: int, *, now: float) -> None:
        """Store (0: remove) a rating; the listener's mean rating of the track's album
        follows in the same transaction (``store._groups.rate``)."""
        with self._db.write() as conn:
            if rating == 0:
                conn.execute(
                    delete(ratings).where(
                        ratings.c.user_id == user_id, ratings.c.track_id == track_id
                    )
                )
            else:
                upsert(
                    conn,
                    ratings,
                    [
                        {
                            "user_id": user_id,
                            "track_id": track_id,
                            "rating": rating,
                            "updated_at": now,
                        }
                    ],
                    keys=["user_id", "track_id"],
                    update=["rating", "updated_at"],
                )
            _groups.rate(conn, user_id, track_id)

    def ratings(self, user_id: str, track_ids: Sequence[int]) -> dict[int, int]:
        if not track_ids:
            return {}
        query = select(ratings.c.track_id, ratings.c.rating).where(
            ratings.c.user_id == user_id, ratings.c.track_id.in_(list(track_ids))
        )
        with self._db.read() as conn:
            return {int(t): int(r) for t, r in conn.execute(query).all()}

    # -- playlists ----------------------------------------------------------------------

    def create_playlist(
        self, user_id: str, name: str, track_ids: Sequence[int], *, now: float
    ) -> int:
        with self._db.write() as conn:
            playlist_id = int(
                conn.execute(
                    user_playlists.insert()
                    .values(
                        user_id=user_id,
                        name=name,
                        comment=None,
                        public=False,
                        created_at=now,
                        changed_at=now,
                    )
                    .returning(user_playlists.c.id)
                ).scalar_one()
            )
            _write_tracks(conn, playlist_id, track_ids)
        return playlist_id

    def playlist(self, playlist_id: int) -> UserPlaylist | None:
        with self._db.read() as conn:
            row = (
                conn.execute(select(user_playlists).where(user_playlists.c.id == playlist_id))
                .mappings()
                .first()
            )
            if row is None:
                return None
            ids = list(
                conn.scalars(
                    select(user_playlist_tracks.c.track_id)
                    .where(user_playlist_tracks.c.playlist_id == playlist_id)
                    .order_by(user_playlist_tracks.c.position)
                )
            )
        return _playlist(row, ids)

    def playlists(self, user_id: str) -> list[UserPlaylist]:
        """The listener's own playlists and everyone's public ones."""
        with self._db.read() as conn:
            rows = (
                conn.execute(
                    select(user_playlists)
                    .where(
                        or_(user_playlists.c.user_id == user_id, user_playlists.c.public.is_(True))
                    )
                    .order_by(user_playlists.c.id)
                )
                .mappings()
                .all()
            )
            ids = [row["id"] for row in rows]
            entries: dict[int, list[int]] = {i: [] for i in ids}
            if ids:
                for pid, tid in conn.execute(
                    select(user_playlist_tracks.c.playlist_id, user_playlist_tracks.c.track_id)
                    .where(user_playlist_tracks.c.playlist_id.in_(ids))
                    .order_by(user_playlist_tracks.c.playlist_id, user_playlist_tracks.c.position)
                ).all():
                    entries[pid].append(int(tid))
        return [_playlist(row, entries[row["id"]]) for row in rows]

    def update_playlist(
        self,
        playlist_id: int,
        *,
        now: float,
        name: str | None = None,
        comment: str | None = None,
        public: bool | None = None,
        track_ids: Sequence[int] | None = None,
    ) -> None:
        """Change the given fields; ``track_ids`` replaces the whole list."""
        values: dict[str, object] = {"changed_at": now}
        if name is not None:
            values["name"] = name
        if comment is not None:
            values["comment"] = comment
        if public is not None:
            values["public"] = public
        with self._db.write() as conn:
            conn.execute(
                update(user_playlists).where(user_playlists.c.id == playlist_id).values(**values)
            )
            if track_ids is not None:
                conn.execute(
                    delete(user_playlist_tracks).where(
                        user_playlist_tracks.c.playlist_id == playlist_id
                    )
                )
                _write_tracks(conn, playlist_id, track_ids)

    def delete_playlist(self, playlist_id: int) -> None:
        with self._db.write() as conn:
            conn.execute(
                delete(user_playlist_tracks).where(
                    user_playlist_tracks.c.playlist_id == playlist_id
                )
            )
            conn.execute(delete(user_playlists).where(user_playlists.c.id == playlist_id))

    def playlist_count(self) -> int:
        with self._db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(user_playlists)).scalar_one())

    # -- play queue ---------------------------------------------------------------------

    def save_play_queue(self, queue: PlayQueue) -> None:
        with self._db.write() as conn:
            upsert(
                conn,
                play_queues,
                [
                    {
                        "user_id": queue.user_id,
                        "track_ids": list(queue.track_ids),
                        "current": queue.current,
                        "position_ms": queue.position_ms,
                        "changed_at": queue.changed_at,
                        "changed_by": queue.changed_by,
                        "current_index": queue.current_index,
                    }
                ],
                keys=["user_id"],
                update=[
                    "track_ids",
                    "current",
                    "position_ms",
                    "changed_at",
                    "changed_by",
                    "current_index",
                ],
            )

    def clear_play_queue(self, user_id: str) -> None:
        with self._db.write() as conn:
            conn.execute(delete(play_queues).where(play_queues.c.user_id == user_id))

    def play_queue(self, user_id: str) -> PlayQueue | None:
        with self._db.read() as conn:
            row = (
                conn.execute(select(play_queues).where(play_queues.c.user_id == user_id))
                .mappings()
                .first()
            )
        if row is None:
            return None
        return PlayQueue(
            row["user_id"],
            [int(t) for t in row["track_ids"]],
            row["current"],
            int(row["position_ms"]),
            float(row["changed_at"]),
            row["changed_by"],
            row["current_index"],
        )


def _write_tracks(conn: Connection, playlist_id: int, track_ids: Sequence[int]) -> None:
    if track_ids:
        conn.execute(
            user_playlist_tracks.insert(),
            [
                {"playlist_id": playlist_id, "position": n, "track_id": t}
                for n, t in enumerate(track_ids)
            ],
        )


def _playlist(row: object, track_ids: list[int]) -> UserPlaylist:
    r = dict(row)  # type: ignore[call-overload]
    return UserPlaylist(
        int(r["id"]),
        r["user_id"],
        r["name"],
        r["comment"],
        bool(r["public"]),
        float(r["created_at"]),
        float(r["changed_at"]),
        track_ids,
    )
