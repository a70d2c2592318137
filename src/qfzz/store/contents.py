"""Creators' uploads and their licences. ``create_once`` is the exactly-once point of an
upload's finish: the unique ``upload_id`` makes a second insert a no-op that returns the
first row, in one transaction, whoever retried."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from qfzz.models import ContentStatus, Derivative, UploadedContent
from qfzz.store._database import Database
from qfzz.store._schema import content_files, content_licenses, contents


class ContentRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create_once(self, content: UploadedContent) -> tuple[UploadedContent, bool]:
        """Stores ``content`` unless its upload already made one; returns the stored row and
        whether this call created it."""
        try:
            with self._db.write() as conn:
                conn.execute(contents.insert().values(**_values(content)))
                _add_files(conn, content.content_id, content.derivatives)
        except IntegrityError:
            existing = self.by_upload(content.upload_id)
            if existing is None:
                raise
            return existing, False
        return content, True

    def get(self, content_id: str) -> UploadedContent | None:
        with self._db.read() as conn:
            query = select(contents).where(contents.c.content_id == content_id)
            row = conn.execute(query).mappings().first()
        return None if row is None else _content(row)

    def by_upload(self, upload_id: str) -> UploadedContent | None:
        with self._db.read() as conn:
            query = select(contents).where(contents.c.upload_id == upload_id)
            row = conn.execute(query).mappings().first()
        return None if row is None else _content(row)

    def set_status(
        self,
        content_id: str,
        status: ContentStatus,
        *,
        reason: str | None = None,
        loudness: float | None = None,
        derivatives: tuple[Derivative, ...] | None = None,
    ) -> None:
        values: dict[str, Any] = {"status": status.value, "reason": reason}
        if loudness is not None:
            values["loudness"] = loudness
        if derivatives is not None:
            values["derivatives"] = [asdict(d) for d in derivatives]
        with self._db.write() as conn:
            conn.execute(
                update(contents).where(contents.c.content_id == content_id).values(**values)
            )
            if derivatives is not None:
                query = select(content_files.c.file_hash).where(
                    content_files.c.content_id == content_id
                )
                known = set(conn.scalars(query))
                fresh = tuple(d for d in derivatives if d.file_hash not in known)
                _add_files(conn, content_id, fresh)

    def owned_by(self, owner: str, limit: int) -> list[UploadedContent]:
        """A creator's uploads, newest first (the index on ``owner`` finds them)."""
        with self._db.read() as conn:
            query = (
                select(contents)
                .where(contents.c.owner == owner)
                .order_by(contents.c.created_at.desc(), contents.c.content_id)
                .limit(limit)
            )
            return [_content(row) for row in conn.execute(query).mappings()]

    def file(self, file_hash: str) -> tuple[str, str] | None:
        """(path relative to the data directory, media type) of a stored file by hash."""
        with self._db.read() as conn:
            query = select(content_files.c.path, content_files.c.media_type).where(
                content_files.c.file_hash == file_hash
            )
            row = conn.execute(query.limit(1)).first()  # identical bytes: any copy will do
        return None if row is None else (str(row[0]), str(row[1]))

    def bytes_owned(self, owner: str) -> int:
        """What a creator's uploads take (for the quota)."""
        with self._db.read() as conn:
            query = select(func.coalesce(func.sum(contents.c.size), 0)).where(
                contents.c.owner == owner
            )
            return int(conn.execute(query).scalar_one())

    def grant(self, content_id: str, user_id: str, *, granted_by: str, now: float) -> bool:
        """Gives ``user_id`` a licence; False if they held one already."""
        try:
            with self._db.write() as conn:
                conn.execute(
                    content_licenses.insert().values(
                        content_id=content_id,
                        user_id=user_id,
                        granted_by=granted_by,
                        granted_at=now,
                    )
                )
        except IntegrityError:
            return False
        return True

    def licensed(self, content_id: str, user_id: str) -> bool:
        with self._db.read() as conn:
            query = select(content_licenses.c.user_id).where(
                content_licenses.c.content_id == content_id,
                content_licenses.c.user_id == user_id,
            )
            return conn.execute(query).first() is not None


def _add_files(conn: Any, content_id: str, derivatives: tuple[Derivative, ...]) -> None:
    rows = [
        {
            "file_hash": d.file_hash,
            "content_id": content_id,
            "kind": d.kind,
            "path": d.path,
            "media_type": d.media_type,
        }
        for d in derivatives
        if d.path is not None
    ]
    if rows:
        conn.execute(content_files.insert(), rows)


def _values(content: UploadedContent) -> dict[str, Any]:
    return {
        "content_id": content.content_id,
        "upload_id": content.upload_id,
        "owner": content.owner,
        "title": content.title,
        "artist": content.artist,
        "license": content.license,
        "media_type": content.media_type,
        "size": content.size,
        "media": content.media,
        "status": content.status.value,
        "reason": content.reason,
        "loudness": content.loudness,
        "derivatives": [asdict(d) for d in content.derivatives],
        "created_at": content.created_at,
    }


def _content(row: Any) -> UploadedContent:
    return UploadedContent(
        content_id=row["content_id"],
        upload_id=row["upload_id"],
        owner=row["owner"],
        title=row["title"],
        artist=row["artist"],
        license=row["license"],
        media_type=row["media_type"],
        size=int(row["size"]),
        media=bool(row["media"]),
        status=ContentStatus(row["status"]),
        created_at=float(row["created_at"]),
        reason=row["reason"],
        loudness=None if row["loudness"] is None else float(row["loudness"]),
        derivatives=tuple(Derivative(**d) for d in row["derivatives"]),
    )
