"""Interactions: an append-only log, the source of truth for what listeners taught the DJ.

Profiles are derived from it (a stored snapshot plus the interactions after it), so the
hot path only appends; a crash can never leave a profile that disagrees with its history.

An interaction sent with an idempotency key is stored only together with the key's record
(whose answer is the interaction itself), in the same group-committed transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, overload

from sqlalchemy import Connection, Select, func, select, text

from qfzz.models import IdempotencyKey, Interaction, InteractionType
from qfzz.store import _groups
from qfzz.store._database import Database
from qfzz.store._group_commit import GroupCommitter
from qfzz.store._rows import chunks
from qfzz.store._schema import interactions
from qfzz.store.idempotency import IdempotencyRepository, StoredAnswer

log = logging.getLogger(__name__)

#: PostgreSQL advisory lock taken by every interaction insert (see ``write_batch``).
INSERT_LOCK = 0x7166_7A7A_01  # "qfzz" 01

#: A raw interaction row as stored: (id, user_id, track_id, type, rating, created_at).
RawRow = tuple[int, str, int, str, float | None, float]


#: Told about every committed interaction with its id, in commit (= id) order, on the
#: committing thread before the writers are acknowledged.
CommitListener = Callable[[Sequence[tuple[int, Interaction]]], None]


@dataclass(frozen=True, slots=True)
class _Unit:
    """What one caller submitted: interactions, and the key that guards them (if any)."""

    interactions: Sequence[Interaction]
    key: IdempotencyKey | None


def _unit(chunk: Sequence[Interaction], key: IdempotencyKey | None) -> _Unit:
    if key is not None and len(chunk) != 1:
        raise ValueError("an idempotency key guards exactly one interaction")
    return _Unit(list(chunk), key)


class InteractionRepository:
    def __init__(self, db: Database, keys: IdempotencyRepository | None = None) -> None:
        self._db = db
        self._keys = keys if keys is not None else IdempotencyRepository(db)
        self._committer: GroupCommitter[_Unit, StoredAnswer | None] = GroupCommitter(self._commit)
        self._commit_listeners: list[CommitListener] = []

    def start(self) -> None:
        self._committer.start()

    def stop(self) -> None:
        self._committer.stop()

    def listen_commits(self, listener: CommitListener) -> None:
        """Call ``listener`` with ``(id, interaction)`` of each group commit's new rows, in
        id order, on the writer's thread, after the commit and before any of its callers
        is answered (the trust ledger, the station's other processes)."""
        self._commit_listeners.append(listener)

    def submit(
        self, chunk: Sequence[Interaction], *, key: IdempotencyKey | None = None
    ) -> Future[StoredAnswer | None]:
        """Queue interactions (kept in order); the future resolves once they are committed.

        With an idempotency ``key`` (one interaction: what one request stores) the
        interaction is stored only together with the key's record. If the key is stored
        already (a race only the database saw), nothing of the chunk is stored and the
        future resolves with the stored first answer instead of ``None``; the rest of the
        group commit is not affected.
        """
        return self._committer.submit(_unit(chunk, key))

    def asubmit(
        self, chunk: Sequence[Interaction], *, key: IdempotencyKey | None = None
    ) -> asyncio.Future[StoredAnswer | None]:
        """``submit`` for a coroutine on the running loop: the same queue and order, but
        the writer is woken once per turn of the loop and a commit's waiters there are
        resolved together (see ``GroupCommitter.asubmit``)."""
        return self._committer.asubmit(_unit(chunk, key))

    def append(self, interaction: Interaction) -> None:
        """Store one interaction; returns once it is committed (group-committed)."""
        self.submit([interaction]).result()

    def _commit(self, units: Sequence[_Unit]) -> list[StoredAnswer | None]:
        batch = [i for unit in units for i in unit.interactions]
        keys = [unit.key for unit in units for _ in unit.interactions]
        results = self.write_batch(batch, keys)
        committed = [(r, i) for r, i in zip(results, batch, strict=True) if isinstance(r, int)]
        for listener in self._commit_listeners if committed else ():
            try:
                listener(committed)
            except Exception:  # committed is committed; derived state catches up on start
                log.exception("commit listener failed")
        outcomes: list[StoredAnswer | None] = []
        position = 0
        for unit in units:
            first = results[position] if unit.interactions else None
            outcomes.append(first if isinstance(first, StoredAnswer) else None)
            position += len(unit.interactions)
        return outcomes

    @overload
    def write_batch(self, batch: Sequence[Interaction]) -> list[int]: ...
    @overload
    def write_batch(
        self, batch: Sequence[Interaction], keys: Sequence[IdempotencyKey | None]
    ) -> list[int | StoredAnswer]: ...
    def write_batch(
        self, batch: Sequence[Interaction], keys: Sequence[IdempotencyKey | None] = ()
    ) -> list[int] | list[int | StoredAnswer]:
        """Append many interactions in one transaction; returns their ids in order.

        ``keys``, one per interaction (or none at all), are idempotency keys: a keyed
        interaction is stored together with its key's record; where the key is stored
        already, the interaction is left out and the result holds that first answer in
        place of an id. Plays also count in the listener's album play counters
        (``store._groups.count_plays``), in the same transaction.
        """
        if not batch:
            return []
        if keys and len(keys) != len(batch):
            raise ValueError("one idempotency key (or None) per interaction")
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
        statement = interactions.insert().returning(interactions.c.id, sort_by_parameter_order=True)
        with self._db.write() as conn:
            serialise_inserts(conn)
            taken: dict[int, StoredAnswer] = {}
            for n, key in enumerate(keys):
                if key is not None:
                    first = self._keys.claim(
                        conn, key, answer_of(batch[n]), now=batch[n].created_at
                    )
                    if first is not None:
                        taken[n] = first
            kept = [row for n, row in enumerate(rows) if n not in taken]
            ids = iter(list(conn.execute(statement, kept).scalars()) if kept else [])
            _groups.count_plays(
                conn,
                [
                    (i.user_id, i.track_id, i.created_at)
                    for n, i in enumerate(batch)
                    if n not in taken and i.type is InteractionType.PLAY
                ],
            )
            return [taken[n] if n in taken else int(next(ids)) for n in range(len(rows))]

    def history(self, user_id: str) -> list[tuple[int, Interaction]]:
        """A listener's interactions with their ids, oldest first, in one read."""
        return self._with_ids(
            select(interactions)
            .where(interactions.c.user_id == user_id)
            .order_by(interactions.c.id)
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

    def after(self, after_id: int, *, limit: int | None = None) -> list[tuple[int, Interaction]]:
        """The interactions with an id above ``after_id`` (the first ``limit``), in log
        order. Committed ids only ever grow (see ``write_batch``), so reading on from the
        last id seen never skips one."""
        query = select(interactions).where(interactions.c.id > after_id).order_by(interactions.c.id)
        if limit is not None:
            query = query.limit(limit)
        return self._with_ids(query)

    def raw_after(self, after_id: int, *, limit: int, through: int | None = None) -> list[RawRow]:
        """Rows with an id above ``after_id`` (and at most ``through``) exactly as stored,
        nothing parsed, for hashing and auditing: an edited row cannot break the reader.

        A verification reads the whole log through here, so it asks the driver directly:
        SQLAlchemy's result rows cost ~3 µs each, the driver's tuples under 1 µs.
        """
        mark = "?" if self._db.is_sqlite else "%s"
        upper = f" AND id <= {mark}" if through is not None else ""
        sql = (
            "SELECT id, user_id, track_id, type, rating, created_at FROM interactions "
            f"WHERE id > {mark}{upper} ORDER BY id LIMIT {mark}"
        )
        params = (after_id, through, limit) if through is not None else (after_id, limit)
        with self._db.read() as conn:
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.execute(sql, params)
                return list(cursor.fetchall())
            finally:
                cursor.close()

    def last_id(self) -> int:
        with self._db.read() as conn:
            return int(
                conn.execute(select(func.coalesce(func.max(interactions.c.id), 0))).scalar_one()
            )

    def _with_ids(self, query: Select[Any]) -> list[tuple[int, Interaction]]:
        with self._db.read() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            (
                int(row["id"]),
                Interaction(
                    user_id=row["user_id"],
                    track_id=row["track_id"],
                    type=InteractionType(row["type"]),
                    rating=row["rating"],
                    created_at=row["created_at"],
                ),
            )
            for row in rows
        ]

    def count(self) -> int:
        with self._db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(interactions)).scalar_one())

    def play_counts(self, track_ids: Sequence[int] | None = None) -> dict[int, int]:
        """Plays per track: of every track, or only of ``track_ids``."""
        query = (
            select(interactions.c.track_id, func.count())
            .where(interactions.c.type == InteractionType.PLAY.value)
            .group_by(interactions.c.track_id)
        )
        parts = (
            [query]
            if track_ids is None
            else [query.where(interactions.c.track_id.in_(part)) for part in chunks(track_ids)]
        )
        counts: dict[int, int] = {}
        with self._db.read() as conn:
            for part_query in parts:
                counts.update((int(t), int(n)) for t, n in conn.execute(part_query).all())
        return counts


def answer_of(interaction: Interaction) -> dict[str, Any]:
    """The idempotency answer of a stored interaction: the interaction itself."""
    return {
        "user_id": interaction.user_id,
        "track_id": interaction.track_id,
        "type": interaction.type.value,
        "rating": interaction.rating,
        "created_at": interaction.created_at,
    }


def answered_interaction(record: StoredAnswer) -> Interaction:
    """The interaction a stored answer (of :func:`answer_of`) describes."""
    answer = record.answer
    return Interaction(
        user_id=str(answer["user_id"]),
        track_id=int(answer["track_id"]),
        type=InteractionType(answer["type"]),
        rating=None if answer["rating"] is None else float(answer["rating"]),
        created_at=float(answer["created_at"]),
    )


def serialise_inserts(conn: Connection) -> None:
    """Make commit order equal id order, so a reader following ids never skips a row.

    SQLite's ``BEGIN IMMEDIATE`` already lets one writer in at a time. On PostgreSQL two
    transactions could take ids 11 and 12 and commit 12 first; a reader that saw 12 would
    then never look at 11 again. A transaction-level advisory lock taken before the INSERT
    (released at commit, after the rows are visible) queues interaction writers instead.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": INSERT_LOCK})
