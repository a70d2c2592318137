"""Replaying the chain: every block checked in height order, its changes applied.

The same replay rebuilds the ledger's state on start (trust records and each listener's
standing votes come from the chain, never from the editable interaction rows it covers)
and checks a chain for ``verify``. A block is good when it is in place, links to the one
before, hashes to its hash, meets the difficulty the signed history sets for its height,
and every change is a vote that follows from the state before it: it cites an
interaction the block covers, in order, by a listener whose standing vote it changes, and
its counts are the previous counts moved by that vote. The first block that is not good
stops the replay; the state is that of the blocks before it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from qfzz.models import Block
from qfzz.trust._blocks import Change, decode_changes, genesis_fault, header_fault
from qfzz.trust._events import EventHistory
from qfzz.trust._records import TrustIndex
from qfzz.trust._votes import moved


class BlockSource(Protocol):
    def blocks(self, *, start: int = 0, limit: int | None = None) -> Sequence[Block]: ...


def stored_blocks(source: BlockSource, below: int, *, page: int = 1000) -> Iterator[Block]:
    """The stored blocks under height ``below`` in height order, a page at a time (paged
    by the last height seen, so a missing block cannot make a page repeat)."""
    start = 0
    while start < below:
        got = [b for b in source.blocks(start=start, limit=page) if b.index < below]
        yield from got
        if len(got) < page:
            return
        start = got[-1].index + 1


@dataclass(frozen=True, slots=True)
class ChainStatus:
    valid: bool
    height: int
    first_bad_block: int | None
    reason: str | None = None  # why the first bad block is bad


@dataclass(frozen=True, slots=True)
class Fault:
    """The first block that breaks the chain, and why."""

    block: int
    reason: str

    def describe(self) -> str:
        return f"block {self.block}: {self.reason}"


class ChainReplay:
    def __init__(self, history: EventHistory) -> None:
        self.history = history
        self.index = TrustIndex()
        #: user → index row → +1 / -1: each listener's standing vote as sealed
        self.votes: dict[str, dict[int, int]] = {}
        self.tip: Block | None = None
        self.fault: Fault | None = None
        self.count = 0  # blocks fed, good or not (the stored height)

    def feed(self, block: Block) -> list[Change] | None:
        """Check the next stored block; apply and return its changes when it is good."""
        position = self.count
        self.count += 1
        if self.fault is not None:
            return None
        changes, reason = self._check(block, position)
        if reason is not None or changes is None:
            self.fault = Fault(position, reason or "its changes are malformed")
            return None
        self._apply(changes)
        self.tip = block
        return changes

    def _check(self, block: Block, position: int) -> tuple[list[Change] | None, str | None]:
        if self.tip is None:  # position 0
            return [], genesis_fault(block)
        reason = header_fault(block, position, self.tip)
        if reason is not None:
            return None, reason
        required = self.history.difficulty_at(position)
        if required is None:
            return None, "no validly signed difficulty record covers its height"
        if block.difficulty != required:
            return None, (
                f"it claims difficulty {block.difficulty}; the signed history requires {required}"
            )
        changes = decode_changes(block.changes)
        if changes is None:
            return None, "its changes are malformed"
        return changes, self._votes_fault(changes, self.tip.through, block.through)

    def _votes_fault(self, changes: list[Change], after: int, through: int) -> str | None:
        index, votes = self.index, self.votes
        counts: dict[str, tuple[int, int]] = {}  # this block's changes so far
        standing: dict[tuple[str, str], int] = {}
        last = after
        for n, (key, verifications, reports, _, cited, user, vote) in enumerate(changes):
            if not last < cited <= through:
                return f"change {n} cites interaction {cited}, outside ({last}, {through}]"
            last = cited
            row = index.find(key)
            before = counts.get(key)
            if before is None:
                before = (
                    (int(index.verifications[row]), int(index.reports[row])) if row >= 0 else (0, 0)
                )
            previous = standing.get((user, key))
            if previous is None and row >= 0:
                previous = votes.get(user, {}).get(row)
            if previous == vote:
                return f"change {n}: {user!r} already stood at {vote:+d} on {key!r}"
            if (verifications, reports) != moved(*before, previous, vote):
                return f"change {n}: the counts of {key!r} do not follow from its vote"
            counts[key] = (verifications, reports)
            standing[(user, key)] = vote
        return None

    def _apply(self, changes: list[Change]) -> None:
        index, votes = self.index, self.votes
        for key, verifications, reports, at_us, _, user, vote in changes:
            row = index.row(key)
            index.set(row, verifications, reports, at_us)
            mine = votes.get(user)
            if mine is None:
                mine = votes[user] = {}
            mine[row] = vote
