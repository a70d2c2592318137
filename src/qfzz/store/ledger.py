"""The trust ledger's blocks: appended, read back whole, truncated only by a repair."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select

from qfzz.models import Block
from qfzz.store._database import Database
from qfzz.store._schema import ledger_blocks


class LedgerRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def append(self, blocks: Sequence[Block]) -> None:
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

    def blocks(self, *, start: int = 0, limit: int | None = None) -> list[Block]:
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
            Block(
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
