"""Bookmarks: a listener's saved position in a song, one per song, with a comment."""

from __future__ import annotations

from sqlalchemy import delete, select

from qfzz.models import Bookmark
from qfzz.store._database import Database
from qfzz.store._schema import bookmarks, tracks
from qfzz.store._upsert import upsert


class BookmarkRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def save(
        self, user_id: str, track_id: int, position_ms: int, comment: str | None, *, now: float
    ) -> None:
        """Create the bookmark, or move it (its ``created_at`` stays)."""
        with self._db.write() as conn:
            upsert(
                conn,
                bookmarks,
                [
                    {
                        "user_id": user_id,
                        "track_id": track_id,
                        "position_ms": position_ms,
                        "comment": comment,
                        "created_at": now,
                        "changed_at": now,
                    }
                ],
                keys=["user_id", "track_id"],
                update=["position_ms", "comment", "changed_at"],
            )

    def delete(self, user_id: str, track_id: int) -> bool:
        """Remove a bookmark; False when there was none."""
        with self._db.write() as conn:
            done = conn.execute(
                delete(bookmarks).where(
                    bookmarks.c.user_id == user_id, bookmarks.c.track_id == track_id
                )
            )
        return bool(done.rowcount)

    def for_listener(self, user_id: str) -> list[Bookmark]:
        """The listener's bookmarks on songs still in the catalog, newest change first."""
        query = (
            select(bookmarks)
            .select_from(bookmarks.join(tracks, tracks.c.id == bookmarks.c.track_id))
            .where(bookmarks.c.user_id == user_id, tracks.c.removed.is_(False))
            .order_by(bookmarks.c.changed_at.desc(), bookmarks.c.track_id)
        )
        with self._db.read() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            Bookmark(
                r["user_id"],
                int(r["track_id"]),
                int(r["position_ms"]),
                r["comment"],
                float(r["created_at"]),
                float(r["changed_at"]),
            )
            for r in rows
        ]
