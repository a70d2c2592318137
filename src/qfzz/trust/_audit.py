"""Verifying the whole chain against the interaction log, in bounded memory.

The chain is replayed block by block (``_chain``) and the interaction rows are streamed
alongside in id order, a chunk at a time: each block's rows must hash to its log hash
(or to a hash a signed repair acknowledged for it), and every row a change cites must
still say what the change sealed (voter, vote and time). Memory holds one page of blocks,
one chunk of rows and the replayed state, never the log.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Protocol

from qfzz.models import Block, LedgerEvent
from qfzz.trust._chain import ChainReplay, ChainStatus, Fault, stored_blocks
from qfzz.trust._events import EventHistory
from qfzz.trust._loghash import LogHasher, RawRow, at_us
from qfzz.trust._signing import LedgerVerifier
from qfzz.trust._votes import row_vote

BLOCK_PAGE = 1000
ROW_CHUNK = 5000
_ID = itemgetter(0)


class ChainSource(Protocol):
    def blocks(self, *, start: int = 0, limit: int | None = None) -> Sequence[Block]: ...
    def events(self) -> Sequence[LedgerEvent]: ...
    def height(self) -> int: ...


class RowSource(Protocol):
    def raw_after(self, after_id: int, *, limit: int) -> list[RawRow]: ...


@dataclass(frozen=True, slots=True)
class RowDamage:
    """A block whose interaction rows are no longer the ones it sealed."""

    block: int
    after: int
    through: int
    rows: int
    found_hash: str  # the log hash of the rows as they are now
    contradicted: tuple[int, ...]  # cited interactions that no longer say what was sealed

    def describe(self) -> str:
        text = (
            f"block {self.block}: the interaction rows ({self.after}, {self.through}] are "
            "not the ones it sealed"
        )
        if self.contradicted:
            shown = ", ".join(str(i) for i in self.contradicted[:20])
            more = "…" if len(self.contradicted) > 20 else ""
            text += f" (interactions {shown}{more} no longer say what it sealed)"
        return text


@dataclass(frozen=True, slots=True)
class Audit:
    height: int
    fault: Fault | None  # the first block that breaks the chain itself
    damage: tuple[RowDamage, ...]  # blocks before it whose rows were edited

    @property
    def status(self) -> ChainStatus:
        if self.damage and (self.fault is None or self.damage[0].block < self.fault.block):
            first = self.damage[0]
            return ChainStatus(False, self.height, first.block, first.describe())
        if self.fault is not None:
            return ChainStatus(False, self.height, self.fault.block, self.fault.describe())
        return ChainStatus(True, self.height, None, None)


def audit_chain(
    chain: ChainSource,
    rows: RowSource,
    verifier: LedgerVerifier,
    *,
    block_page: int = BLOCK_PAGE,
    row_chunk: int = ROW_CHUNK,
) -> Audit:
    # Every block below this height was committed, with the events that came with it,
    # before the events are read: a miner appending meanwhile cannot look like a forger.
    limit = chain.height()
    history = EventHistory.of(chain.events(), verifier)
    replay = ChainReplay(history)
    cursor = _RowCursor(rows, row_chunk)
    damage: list[RowDamage] = []
    for block in stored_blocks(chain, limit, page=block_page):
        previous = replay.tip
        changes = replay.feed(block)
        if changes is None or previous is None:
            continue
        found = _check_rows(block, previous, changes, cursor, history)
        if found is not None:
            damage.append(found)
    return Audit(replay.count, replay.fault, tuple(damage))


def _check_rows(
    block: Block,
    previous: Block,
    changes: list[list[Any]],
    cursor: _RowCursor,
    history: EventHistory,
) -> RowDamage | None:
    rows = cursor.take(block.through)
    hasher = LogHasher(previous.log_hash)
    hasher.update(rows)
    found = hasher.hexdigest()
    if found == block.log_hash or found in history.accepted_rows.get(block.index, ()):
        return None
    by_id = {row[0]: row for row in rows}
    contradicted = []
    for change in changes:  # which sealed votes the rows no longer say (or are gone)
        row = by_id.get(change[4])
        if row is None or not (
            row[1] == change[5]
            and row_vote(row[3], row[4]) == change[6]
            and at_us(row[5]) == change[3]
        ):
            contradicted.append(change[4])
    return RowDamage(
        block.index, previous.through, block.through, len(rows), found, tuple(contradicted)
    )


class _RowCursor:
    """The log in id order, fetched a chunk at a time and handed out block by block."""

    def __init__(self, source: RowSource, chunk: int) -> None:
        self._source = source
        self._chunk = chunk
        self._buffer: list[RawRow] = []
        self._at = 0  # the next unread row of the buffer
        self._last = 0  # the last id fetched
        self._exhausted = False

    def take(self, through: int) -> list[RawRow]:
        """Every row with an id up to ``through`` not handed out yet."""
        taken: list[RawRow] = []
        while True:
            buffer, at = self._buffer, self._at
            end = bisect_right(buffer, through, lo=at, key=_ID)
            taken.extend(buffer[at:end])
            self._at = end
            if end < len(buffer) or self._exhausted:
                return taken
            fetched = self._source.raw_after(self._last, limit=self._chunk)
            self._buffer, self._at = fetched, 0
            if not fetched:
                self._exhausted = True
                return taken
            self._last = fetched[-1][0]
