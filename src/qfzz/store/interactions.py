"""Interactions: an append-only log, the source of truth for what listeners taught the DJ.

Profiles are derived from it (a stored snapshot plus the interactions after it), so the
hot path only appends; a crash can never leave a profile that disagrees with its history.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future

from sqlalchemy import func, select

from qfzz.models import Interaction, InteractionType
from qfzz.store._database import Database
from qfzz.store._group_commit import GroupCommitter
from qfzz.store._schema import interactions


class InteractionRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._committer: GroupCommitter[Sequence[Interaction]] = GroupCommitter(
            lambda chunks: self.write_batch([i for chunk in chunks for i in chunk])
        )

    def start(self) -> None:
        self._committer.start()

    def stop(self) -> None:
        self._committer.stop()

    def submit(self, chunk: Sequence[Interaction]) -> Future[None]:
        """Queue interactions (kept in order); the future resolves once they are committed."""
        return self._committer.submit(chunk)

    def append(self, interaction: Interaction) -> None:
        """Store one interaction; returns once it is committed (group-committed)."""
        self.submit([interaction]).result()

    def write_batch(self, batch: Sequence[Interaction]) -> None:
        """Append many interactions in one transaction."""
        if not batch:
            return
        rows = [
            {
                "user_id": i.user_id,
                "track_id": i.track_id,
                "type": i.type.value,
                "rating": i.rating,
                "created_at": i.created_at,
            }
            for i in batch
        ]
        with self._db.write() as conn:
            conn.execute(interactions.insert(), rows)

    def for_listener(self, user_id: str, *, limit: int | None = None) -> list[Interaction]:
        """A listener's interactions, oldest first (the newest ``limit`` when given)."""
        query = select(interactions).where(interactions.c.user_id == user_id)
        if limit is not None:
            query = query.order_by(interactions.c.id.desc()).limit(limit)
        else:
            query = query.order_by(interactions.c.id)
        with self._db.read() as conn:
            rows = conn.execute(query).mappings().all()
        result = [
            Interaction(
                user_id=row["user_id"],
                track_id=row["track_id"],
                type=InteractionType(row["type"]),
                rating=row["rating"],
                created_at=row["created_at"],
            )
            for row in rows
        ]
        if limit is not None:
            result.reverse()
        return result

    def count(self) -> int:
        with self._db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(interactions)).scalar_one())

    def play_counts(self) -> dict[int, int]:
        query = (
            select(interactions.c.track_id, func.count())
            .where(interactions.c.type == InteractionType.PLAY.value)
            .group_by(interactions.c.track_id)
        )
        with self._db.read() as conn:
            return {int(track_id): int(n) for track_id, n in conn.execute(query).all()}
