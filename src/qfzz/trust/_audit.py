"""Verifying the whole chain against the interaction log, in bounded memory.

The chain is replayed block by block (``_chain``) and the interaction rows are streamed
alongside in id order, a chunk at a time: each block's rows must hash to its log hash
(or to a hash a signed repair acknowledged for it), and every row a change cites must
still say what the change sealed (voter, vote and time). Memory holds one page of blocks,
one chunk of rows and the replayed state, never the log.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from qfzz.models import Block, LedgerEvent
from qfzz.trust._blocks import Change
from qfzz.trust._chain import ChainReplay, ChainStatus, Fault, stored_blocks
from qfzz.trust._events import EventHistory
from qfzz.trust._loghash import LogHasher, RawRow, at_us
from qfzz.trust._signing import LedgerVerifier
from qfzz.trust._votes import row_vote

BLOCK_PAGE = 1000
ROW_CHUNK = 5000


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
    changes: list[Change],
    cursor: _RowCursor,
    history: EventHistory,
) -> RowDamage | None:
    hasher = LogHasher(previous.log_hash)
    cited = {c[4]: c for c in changes}
    contradicted: list[int] = []
    count = 0
    for row in cursor.through(block.through):
        hasher.update((row,))
        count += 1
        change = cited.pop(row[0], None)
        if change is not None and not (
            row[1] == change[5]
            and row_vote(row[3], row[4]) == change[6]
            and at_us(row[5]) == change[3]
        ):
            contradicted.append(row[0])
    contradicted.extend(cited)  # cited rows that are gone
    found = hasher.hexdigest()
    if found == block.log_hash or found in history.accepted_rows.get(block.index, ()):
        return None
    return RowDamage(
        block.index, previous.through, block.through, count, found, tuple(sorted(contradicted))
    )


class _RowCursor:
    """The log in id order, fetched a chunk at a time and handed out block by block."""

    def __init__(self, source: RowSource, chunk: int) -> None:
        self._source = source
        self._chunk = chunk
        self._buffer: deque[RawRow] = deque()
        self._last = 0
        self._exhausted = False

    def through(self, through: int) -> Iterator[RawRow]:
        buffer = self._buffer
        while True:
            while buffer and buffer[0][0] <= through:
                yield buffer.popleft()
            if buffer or self._exhausted:
                return
            fetched = self._source.raw_after(self._last, limit=self._chunk)
            if not fetched:
                self._exhausted = True
                return
            self._last = fetched[-1][0]
            buffer.extend(fetched)
