"""Idempotency records: the first answer to a keyed request, stored with what it stored.

A repository that stores something for a request sent with an ``Idempotency-Key`` calls
:meth:`IdempotencyRepository.claim` inside its own write transaction, with the answer it
is about to give. The record and the effect commit together or not at all: a process
that dies after the commit but before answering leaves the record, and the retry is
answered from it; one that dies before the commit leaves neither, and the retry does the
work. When the key is already stored (the retry raced its first attempt from another
process, which only the database can see), ``claim`` returns the stored record and the
caller leaves its effect out.

Records count for ``ttl`` seconds (a day) on the callers' injected clock: older ones are
ignored, replaced by a new claim of the same key, and pruned a few at a time by every
claim, oldest first through the ``created_at`` index, so the table holds about a day of
keys and no statement ever scans it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from qfzz.errors import StoreError
from qfzz.models import IdempotencyKey
from qfzz.store._database import Database
from qfzz.store._schema import idempotency_keys

#: How long a key is remembered (seconds): as long as Stripe's, longer than any retry.
TTL = 24 * 3600.0
#: Expired records each claim deletes: more than one, so a backlog shrinks while new
#: claims arrive, and few, so the writer's transaction stays short.
PRUNE_PER_CLAIM = 4

_SCOPE = ("principal", "route", "key")


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """A remembered request: its key and fingerprint (``key``) and the first answer."""

    key: IdempotencyKey
    answer: Any
    created_at: float


class KeyTaken(StoreError):
    """Raised inside a write transaction (rolling it back) when the key is stored already."""

    code = "idempotency_key_taken"

    def __init__(self, record: StoredAnswer) -> None:
        super().__init__(f"the idempotency key {record.key.key!r} is stored already")
        self.record = record


class IdempotencyRepository:
    def __init__(self, db: Database, *, ttl: float = TTL) -> None:
        self._db = db
        self.ttl = ttl

    def find(self, key: IdempotencyKey, *, now: float) -> StoredAnswer | None:
        """The live record of ``key``'s scope (whatever its fingerprint), or ``None``."""
        with self._db.read() as conn:
            return self._live(conn, key, now)

    def claim(
        self, conn: Connection, key: IdempotencyKey, answer: Any, *, now: float
    ) -> StoredAnswer | None:
        """Record ``answer`` for ``key`` in the caller's transaction ``conn``.

        Returns ``None`` when recorded (an expired record of the same key is replaced),
        or the live record already there: then nothing was written, and the caller must
        not store its effect either (leave it out, or raise :class:`KeyTaken`).
        """
        table = idempotency_keys
        dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
        insert = dialect.insert(table).values(
            principal=key.principal,
            route=key.route,
            key=key.key,
            fingerprint=key.fingerprint,
            answer=json.dumps(answer, separators=(",", ":")),
            created_at=now,
        )
        statement = insert.on_conflict_do_update(
            index_elements=list(_SCOPE),
            set_={name: insert.excluded[name] for name in ("fingerprint", "answer", "created_at")},
            where=table.c.created_at <= now - self.ttl,  # only an expired record gives way
        ).returning(table.c.id)
        if conn.execute(statement).first() is None:
            return self._live(conn, key, now)
        self._prune(conn, now - self.ttl, PRUNE_PER_CLAIM)
        return None

    def prune(self, *, now: float, limit: int = 1000) -> int:
        """Delete up to ``limit`` expired records (oldest first); returns how many."""
        with self._db.write() as conn:
            return self._prune(conn, now - self.ttl, limit)

    def count(self) -> int:
        with self._db.read() as conn:
            return int(
                conn.execute(select(func.count()).select_from(idempotency_keys)).scalar_one()
            )

    def _live(self, conn: Connection, key: IdempotencyKey, now: float) -> StoredAnswer | None:
        table = idempotency_keys
        row = (
            conn.execute(
                select(table.c.fingerprint, table.c.answer, table.c.created_at).where(
                    table.c.principal == key.principal,
                    table.c.route == key.route,
                    table.c.key == key.key,
                    table.c.created_at > now - self.ttl,
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        stored = IdempotencyKey(key.principal, key.route, key.key, row["fingerprint"])
        return StoredAnswer(stored, json.loads(row["answer"]), float(row["created_at"]))

    def _prune(self, conn: Connection, cutoff: float, limit: int) -> int:
        table = idempotency_keys
        doomed = (
            select(table.c.id)
            .where(table.c.created_at <= cutoff)
            .order_by(table.c.created_at)
            .limit(limit)
        )
        if conn.dialect.name == "postgresql":  # two writers never wait on each other's prune
            doomed = doomed.with_for_update(skip_locked=True)
        return int(conn.execute(delete(table).where(table.c.id.in_(doomed))).rowcount)
