"""The trust ledger's blocks and signed events: appended, read back, truncated only by a
repair.

Appending is the ledger's database-level guard against a second writer: a block goes in
only at a free height and only on top of the stored block it links to, in one transaction
with the events that take effect with it. Whoever comes second gets ``ChainConflict``
and nothing of theirs is stored.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, delete, func, select
from sqlalchemy.exc import IntegrityError

from qfzz.errors import ChainConflict
from qfzz.models import Block, LedgerEvent
from qfzz.store._database import Database
from qfzz.store._schema import ledger_blocks, ledger_events


class LedgerRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def append(self, blocks: Sequence[Block], events: Sequence[LedgerEvent] = ()) -> None:
        """Store consecutive blocks (and the events that come with them) atomically.

        Raises ``ChainConflict`` when a height is taken or the first block does not link
        to the stored block below it (another miner, or a repair, got there first).
        """
        if not blocks and not events:
            return
        try:
            with self._db.write() as conn:
                if blocks and blocks[0].index > 0:
                    self._require_link(conn, blocks[0])
                if events:
                    conn.execute(ledger_events.insert(), [_event_row(e) for e in events])
                if blocks:
                    conn.execute(ledger_blocks.insert(), [_block_row(b) for b in blocks])
        except IntegrityError as exc:
            raise ChainConflict("another writer appended to the ledger first") from exc

    def append_events(self, events: Sequence[LedgerEvent]) -> None:
        """Store signed events on their own (a repair's acknowledgements)."""
        self.append([], events)

    @staticmethod
    def _require_link(conn: Connection, block: Block) -> None:
        below = (
            select(ledger_blocks.c.hash)
            .where(ledger_blocks.c.height == block.index - 1)
            .with_for_update(read=True)  # PostgreSQL: wait for a concurrent truncation
        )
        if conn.execute(below).scalar_one_or_none() != block.previous_hash:
            raise ChainConflict(f"block {block.index} no longer links to the stored chain")

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
                r.log_hash,
            )
            for r in rows
        ]

    def events(self) -> list[LedgerEvent]:
        """Every stored event by ``seq`` — exactly as the rows say (signatures unchecked)."""
        with self._db.read() as conn:
            rows = conn.execute(select(ledger_events).order_by(ledger_events.c.seq)).all()
        return [
            LedgerEvent(r.seq, r.kind, r.height, r.value, r.recorded_at_us, r.signature)
            for r in rows
        ]

    def height(self) -> int:
        """One above the highest stored block (the height the next block takes)."""
        with self._db.read() as conn:
            top = conn.execute(select(func.max(ledger_blocks.c.height))).scalar_one()
        return 0 if top is None else int(top) + 1

    def fingerprint(self) -> tuple[int, int, str]:
        """(height, event count, newest block's hash): changes whenever anything is
        appended, cut or mined again."""
        newest = (
            select(ledger_blocks.c.height, ledger_blocks.c.hash)
            .order_by(ledger_blocks.c.height.desc())
            .limit(1)
        )
        with self._db.read() as conn:
            top = conn.execute(newest).first()
            events = conn.execute(select(func.count()).select_from(ledger_events)).scalar_one()
        if top is None:
            return 0, int(events), ""
        return int(top.height) + 1, int(events), str(top.hash)

    def truncate_from(self, height: int) -> int:
        """Remove blocks from ``height`` on (repair only); returns how many were removed."""
        with self._db.write() as conn:
            result = conn.execute(delete(ledger_blocks).where(ledger_blocks.c.height >= height))
            return int(result.rowcount or 0)


def _block_row(b: Block) -> dict[str, object]:
    return {
        "height": b.index,
        "timestamp_us": b.timestamp_us,
        "through_interaction": b.through,
        "difficulty": b.difficulty,
        "previous_hash": b.previous_hash,
        "nonce": b.nonce,
        "hash": b.hash,
        "changes": b.changes,
        "log_hash": b.log_hash,
    }


def _event_row(e: LedgerEvent) -> dict[str, object]:
    return {
        "seq": e.seq,
        "kind": e.kind,
        "height": e.height,
        "value": e.value,
        "recorded_at_us": e.recorded_at_us,
        "signature": e.signature,
    }
