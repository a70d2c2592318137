"""Interactions, the source of truth for everything a listener taught the DJ.

Each write stores the interaction together with the profile weights it changed, in one
transaction, so a crash can never leave a profile that disagrees with its history.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from sqlalchemy import func, select

from qfzz.models import Interaction, InteractionType
from qfzz.store._database import Database
from qfzz.store._group_commit import GroupCommitter
from qfzz.store._schema import interactions, listeners, profile_weights
from qfzz.store._upsert import upsert


@dataclass(frozen=True, slots=True)
class FeedbackWrite:
    """One interaction and the profile state it produced."""

    interaction: Interaction
    weights: Sequence[tuple[str, str, float]] = field(default_factory=tuple)
    energy_level: float | None = None


class InteractionRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._committer: GroupCommitter[FeedbackWrite] = GroupCommitter(self.write_batch)

    def start(self) -> None:
        self._committer.start()

    def stop(self) -> None:
        self._committer.stop()

    def submit(self, write: FeedbackWrite) -> Future[None]:
        """Queue one interaction; the future resolves once it is committed."""
        return self._committer.submit(write)

    def append(self, write: FeedbackWrite) -> None:
        """Store one interaction; returns once it is committed (group-committed)."""
        self.submit(write).result()

    def write_batch(self, writes: Sequence[FeedbackWrite]) -> None:
        """Store many interactions and their profile changes in one transaction."""
        if not writes:
            return
        rows = [
            {
                "user_id": w.interaction.user_id,
                "track_id": w.interaction.track_id,
                "type": w.interaction.type.value,
                "rating": w.interaction.rating,
                "created_at": w.interaction.created_at,
            }
            for w in writes
        ]
        latest_weights: dict[tuple[str, str, str], float] = {}
        latest_energy: dict[str, float] = {}
        for w in writes:
            user = w.interaction.user_id
            for kind, key, weight in w.weights:
                latest_weights[(user, kind, key)] = weight
            if w.energy_level is not None:
                latest_energy[user] = w.energy_level
        with self._db.write() as conn:
            conn.execute(interactions.insert(), rows)
            upsert(
                conn,
                profile_weights,
                [
                    {"user_id": user, "kind": kind, "key": key, "weight": weight}
                    for (user, kind, key), weight in latest_weights.items()
                ],
                keys=["user_id", "kind", "key"],
                update=["weight"],
            )
            for user, energy in latest_energy.items():
                conn.execute(
                    listeners.update()
                    .where(listeners.c.user_id == user)
                    .values(energy_level=energy)
                )

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
