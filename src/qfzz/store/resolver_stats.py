"""The resolver's fallback statistics, in a SQLite side database of their own.

Never in the main schema: the statistics are a cache of experience, rebuilt by use, so
they live in their own file (``resolver_stats.db`` in the data directory by default), with
their own metadata and no Alembic migrations, and losing or corrupting that file costs the
resolver its learned order, nothing else (the resolver then uses the configured order).

Table ``resolver_source_stats`` holds the design's columns — ``origin_source``,
``candidate_source``, ``attempt_count``, ``resolve_success_count``, ``last_attempt_at``,
``last_success_at``, ``created_at``, ``updated_at``, primary key
``(origin_source, candidate_source)``, an index on ``origin_source`` — and three columns
that go beyond the design, for Thompson sampling: ``decayed_successes`` and
``decayed_failures`` (the outcomes discounted by age and bounded in total, as of
``updated_at``) and ``mean_seconds`` (the moving mean of attempt durations).

Every attempt is one ``INSERT … ON CONFLICT DO UPDATE`` that computes the new row from the
stored one inside SQLite (the update rule of :func:`qfzz.models.record_source_attempt`,
its half-life decay through a function registered on each connection), so concurrent
threads and processes never lose an update: WAL mode, writes start with
``BEGIN IMMEDIATE`` and wait on a busy timeout.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    case,
    event,
    func,
    literal,
    select,
)
from sqlalchemy.dialects.sqlite import insert

from qfzz.models import (
    SOURCE_STATS_HALF_LIFE,
    SOURCE_STATS_MAX_EVIDENCE,
    SourceStats,
    check_attempt_seconds,
)
from qfzz.store._database import Database

__all__ = ["RESOLVER_STATS_FILE", "ResolverStatsRepository", "resolver_source_stats"]

#: The side database's file name in the data directory.
RESOLVER_STATS_FILE = "resolver_stats.db"
_DECAY = "qfzz_half_life_decay"
#: The longest origin or candidate source name stored (settings name sources briefly).
NAME_MAX = 64

metadata = MetaData()

resolver_source_stats = Table(
    "resolver_source_stats",
    metadata,
    Column("origin_source", String(NAME_MAX), nullable=False),
    Column("candidate_source", String(NAME_MAX), nullable=False),
    Column("attempt_count", Integer, nullable=False),
    Column("resolve_success_count", Integer, nullable=False),
    Column("last_attempt_at", Float, nullable=True),
    Column("last_success_at", Float, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    # beyond the design: Thompson sampling's discounted posterior and the latency mean
    Column("decayed_successes", Float, nullable=False),
    Column("decayed_failures", Float, nullable=False),
    Column("mean_seconds", Float, nullable=True),
    PrimaryKeyConstraint("origin_source", "candidate_source"),
    Index("ix_resolver_source_stats_origin_source", "origin_source"),
)


def _half_life_decay(elapsed: float | None, half_life: float | None) -> float:
    """0.5 ** (elapsed / half_life), 1 for time that ran backwards (registered in SQLite)."""
    if elapsed is None or half_life is None:
        return 1.0
    return float(0.5 ** (max(0.0, elapsed) / half_life))


class ResolverStatsRepository:
    """A :class:`qfzz.resolver.StatsRepository` on its own SQLite file at ``path``.

    Nothing is touched at construction: the file, its folder and the table appear at the
    first :meth:`stats` or :meth:`record` (so a station that never resolves has no such
    file, and a path that cannot be opened fails the first use, where the resolver turns
    the error into a warning and the configured order). A failed first use is retried at
    the next one.
    """

    def __init__(
        self,
        path: Path,
        *,
        half_life_seconds: float = SOURCE_STATS_HALF_LIFE,
        max_evidence: float = SOURCE_STATS_MAX_EVIDENCE,
    ) -> None:
        if half_life_seconds <= 0 or max_evidence < 1:
            raise ValueError("half_life_seconds must be > 0 and max_evidence >= 1")
        self.path = Path(path)
        self.half_life_seconds = half_life_seconds
        self.max_evidence = max_evidence
        self._lock = threading.Lock()
        self._db: Database | None = None

    @classmethod
    def in_data_dir(cls, data_dir: Path, **options: float) -> ResolverStatsRepository:
        """The repository at the default place: ``resolver_stats.db`` in ``data_dir``."""
        return cls(Path(data_dir) / RESOLVER_STATS_FILE, **options)

    def _database(self) -> Database:
        with self._lock:
            if self._db is not None:
                return self._db
            db = Database(f"sqlite:///{self.path}")  # creates the folder, not the file

            @event.listens_for(db.engine, "connect")
            def _register(dbapi_connection: Any, _record: Any) -> None:
                dbapi_connection.create_function(_DECAY, 2, _half_life_decay, deterministic=True)

            try:
                # The file and the table, on first use. In a write transaction (BEGIN
                # IMMEDIATE): a second process creating them at the same moment waits on
                # the lock, where a read upgraded to a write would fail at once.
                with db.write() as conn:
                    metadata.create_all(conn)
            except BaseException:
                db.dispose()
                raise
            self._db = db
            return db

    def stats(self, origin: str) -> dict[str, SourceStats]:
        t = resolver_source_stats
        with self._database().read() as conn:
            rows = conn.execute(select(t).where(t.c.origin_source == origin)).mappings()
            return {
                row["candidate_source"]: SourceStats(
                    attempts=row["attempt_count"],
                    successes=row["resolve_success_count"],
                    last_attempt_at=row["last_attempt_at"],
                    last_success_at=row["last_success_at"],
                    decayed_successes=row["decayed_successes"],
                    decayed_failures=row["decayed_failures"],
                    mean_seconds=row["mean_seconds"],
                    updated_at=row["updated_at"],
                )
                for row in rows
            }

    def record(
        self, origin: str, candidate: str, *, success: bool, seconds: float, now: float
    ) -> None:
        check_attempt_seconds(seconds)
        for name in (origin, candidate):
            if not 0 < len(name) <= NAME_MAX:
                raise ValueError(f"a source name must have 1 to {NAME_MAX} characters: {name!r}")
        won = 1.0 if success else 0.0
        statement = insert(resolver_source_stats).values(
            origin_source=origin,
            candidate_source=candidate,
            attempt_count=1,
            resolve_success_count=int(won),
            last_attempt_at=now,
            last_success_at=now if success else None,
            created_at=now,
            updated_at=now,
            decayed_successes=won,
            decayed_failures=1.0 - won,
            mean_seconds=seconds,
        )
        statement = statement.on_conflict_do_update(
            index_elements=["origin_source", "candidate_source"],
            set_=self._update(statement.excluded, success=success),
        )
        with self._database().write() as conn:
            conn.execute(statement)

    def _update(self, new: Any, *, success: bool) -> dict[str, ColumnElement[Any]]:
        """The stored row after one more attempt (``new`` is the row the attempt would have
        inserted): :func:`qfzz.models.record_source_attempt`, written in SQL."""
        old = resolver_source_stats.c
        factor = func.qfzz_half_life_decay(
            new.updated_at - old.updated_at, literal(self.half_life_seconds)
        )
        wins = old.decayed_successes * factor + new.decayed_successes
        losses = old.decayed_failures * factor + new.decayed_failures
        cap = literal(self.max_evidence, Float)
        scale = func.min(literal(1.0), cap / (wins + losses))
        weight = func.min(wins + losses, cap)
        mean = case(
            (old.mean_seconds.is_(None), new.mean_seconds),
            else_=old.mean_seconds + (new.mean_seconds - old.mean_seconds) / weight,
        )
        return {
            "attempt_count": old.attempt_count + 1,
            "resolve_success_count": old.resolve_success_count + new.resolve_success_count,
            "last_attempt_at": func.max(
                func.coalesce(old.last_attempt_at, new.updated_at), new.updated_at
            ),
            "last_success_at": (
                func.max(func.coalesce(old.last_success_at, new.updated_at), new.updated_at)
                if success
                else old.last_success_at
            ),
            "updated_at": func.max(old.updated_at, new.updated_at),
            "decayed_successes": wins * scale,
            "decayed_failures": losses * scale,
            "mean_seconds": mean,
        }

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.dispose()
                self._db = None
