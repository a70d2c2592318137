"""The trust ledger's blocks: appended, read back whole, truncated only by a repair."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import delete, func, select

from qfzz.store._database import Database
from qfzz.store._schema import ledger_blocks


class _BlockLike(Protocol):
    @property
    def index(self) -> int: ...
    @property
    def timestamp_us(self) -> int: ...
    @property
    def through(self) -> int: ...
    @property
    def difficulty(self) -> int: ...
    @property
    def previous_hash(self) -> str: ...
    @property
    def nonce(self) -> int: ...
    @property
    def hash(self) -> str: ...
    @property
    def changes(self) -> str: ...


@dataclass(frozen=True, slots=True)
class BlockRow:
    index: int
    timestamp_us: int
    through: int
    difficulty: int
    previous_hash: str
    nonce: int
    hash: str
    changes: str


class LedgerRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def append(self, blocks: Sequence[_BlockLike]) -> None:
        if not blocks:
            return
        with self._db.write() as conn:
            conn.execute(
                ledger_blocks.insert(),
                [
                    {
                        "height": b.index,
                        "timestamp_us": b.timestamp_us,
                        "through_interaction": b.through,
                        "difficulty": b.difficulty,
                        "previous_hash": b.previous_hash,
                        "nonce": b.nonce,
                        "hash": b.hash,
                        "changes": b.changes,
                    }
                    for b in blocks
                ],
            )

    def blocks(self, *, start: int = 0, limit: int | None = None) -> list[BlockRow]:
        """Blocks in stored order (by height) — exactly as the rows say."""
        query = (
            select(ledger_blocks)
            .where(ledger_blocks.c.height >= start)
            .order_by(ledger_blocks.c.height)
        )
        if limit is not None:
            query = query.limit(limit)
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        return [
            BlockRow(
                r.height,
                r.timestamp_us,
                r.through_interaction,
                r.difficulty,
                r.previous_hash,
                r.nonce,
                r.hash,
                r.changes,
            )
            for r in rows
        ]

    def height(self) -> int:
        with self._db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(ledger_blocks)).scalar_one())

    def truncate_from(self, height: int) -> int:
        """Remove blocks from ``height`` on (repair only); returns how many were removed."""
        with self._db.write() as conn:
            result = conn.execute(delete(ledger_blocks).where(ledger_blocks.c.height >= height))
            return int(result.rowcount or 0)
