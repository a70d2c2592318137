"""Fitted collaborative models, kept for a station's other processes to load.

One process fits (a ``qfzz worker``, or a station of one process), the others follow: they
ask for the newest id now and then, and read a model only when it is newer than theirs.
Only the last ``KEEP`` fits are kept.
"""

from __future__ import annotations

from sqlalchemy import delete, func, insert, select

from qfzz.store._database import Database
from qfzz.store._schema import taste_models

#: Fits kept (a follower reading the newest while the next is stored still finds it).
KEEP = 2


class TasteModelRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def save(self, data: bytes, *, fitted_through: int, now: float) -> int:
        """Store a fit; returns its id (newer fits have higher ids)."""
        with self._db.write() as conn:
            new_id = conn.execute(
                insert(taste_models)
                .values(fitted_through=fitted_through, created_at=now, data=data)
                .returning(taste_models.c.id)
            ).scalar_one()
            conn.execute(delete(taste_models).where(taste_models.c.id <= new_id - KEEP))
        return int(new_id)

    def newest_id(self) -> int:
        """The newest fit's id (0: none yet): one indexed read, for followers' polls."""
        with self._db.read() as conn:
            return int(
                conn.execute(select(func.coalesce(func.max(taste_models.c.id), 0))).scalar_one()
            )

    def load(self, model_id: int) -> bytes | None:
        with self._db.read() as conn:
            found = conn.execute(
                select(taste_models.c.data).where(taste_models.c.id == model_id)
            ).scalar()
        return None if found is None else bytes(found)
