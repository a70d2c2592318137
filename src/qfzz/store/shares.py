"""Shares: public links to a fixed list of songs, named by a random secret id."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update

from qfzz.models import Share
from qfzz.store._database import Database
from qfzz.store._schema import shares


class ShareRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, share: Share) -> None:
        with self._db.write() as conn:
            conn.execute(
                shares.insert().values(
                    id=share.share_id,
                    user_id=share.user_id,
                    description=share.description,
                    track_ids=list(share.track_ids),
                    created_at=share.created_at,
                    expires_at=share.expires_at,
                    last_visited=share.last_visited,
                    visit_count=share.visit_count,
                )
            )

    def get(self, share_id: str) -> Share | None:
        with self._db.read() as conn:
            row = conn.execute(select(shares).where(shares.c.id == share_id)).mappings().first()
        return None if row is None else _share(row)

    def for_listener(self, user_id: str) -> list[Share]:
        query = select(shares).where(shares.c.user_id == user_id).order_by(shares.c.created_at)
        with self._db.read() as conn:
            return [_share(r) for r in conn.execute(query).mappings().all()]

    def update(
        self,
        share_id: str,
        *,
        description: str | None = None,
        expires_at: float | None = None,
        never_expires: bool = False,
    ) -> None:
        values: dict[str, Any] = {}
        if description is not None:
            values["description"] = description
        if expires_at is not None or never_expires:
            values["expires_at"] = None if never_expires else expires_at
        if not values:
            return
        with self._db.write() as conn:
            conn.execute(update(shares).where(shares.c.id == share_id).values(**values))

    def visited(self, share_id: str, *, now: float) -> None:
        with self._db.write() as conn:
            conn.execute(
                update(shares)
                .where(shares.c.id == share_id)
                .values(visit_count=shares.c.visit_count + 1, last_visited=now)
            )

    def delete(self, share_id: str) -> None:
        with self._db.write() as conn:
            conn.execute(delete(shares).where(shares.c.id == share_id))


def _share(row: Any) -> Share:
    return Share(
        row["id"],
        row["user_id"],
        row["description"],
        [int(t) for t in row["track_ids"]],
        float(row["created_at"]),
        None if row["expires_at"] is None else float(row["expires_at"]),
        None if row["last_visited"] is None else float(row["last_visited"]),
        int(row["visit_count"]),
    )
