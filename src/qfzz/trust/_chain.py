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

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from qfzz.models import Block
from qfzz.trust._blocks import genesis_fault, header_fault
from qfzz.trust._events import EventHistory
from qfzz.trust._records import TrustIndex


class BlockSource(Protocol):
    def blocks(self, *, start: int = 0, limit: int | None = None) -> Sequence[Block]: ...


def stored_blocks(
    source: BlockSource, below: int, *, page: int = 1000, start: int = 0
) -> Iterator[Block]:
    """The stored blocks from height ``start`` to under ``below`` in height order, a page
    at a time (paged by the last height seen, so a missing block cannot make a page
    repeat)."""
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
    """Feeds stored blocks in height order. The records are kept in plain lists while
    replaying (a list item is several times cheaper to touch than a numpy scalar) and
    become one ``TrustIndex`` at the end; a block's changes are checked as they are
    applied, and undone if one of them is bad."""

    def __init__(self, history: EventHistory) -> None:
        self.history = history
        self.rows: dict[str, int] = {}  # key → row, rows in order of first appearance
        self._v: list[int] = []
        self._r: list[int] = []
        self._first: list[int] = []
        self._last: list[int] = []
        #: user → row → +1 / -1: each listener's standing vote as sealed
        self.votes: dict[str, dict[int, int]] = {}
        self.tip: Block | None = None
        self.fault: Fault | None = None
        self.count = 0  # blocks fed, good or not (the stored height)

    def index(self) -> TrustIndex:
        """The replayed records as a trust index (rows as in ``votes``)."""
        return TrustIndex.of_columns(self.rows, self._v, self._r, self._first, self._last)

    def feed(self, block: Block) -> list[list[Any]] | None:
        """Check the next stored block; apply and return its changes when it is good."""
        position = self.count
        self.count += 1
        if self.fault is not None:
            return None
        if self.tip is None:  # position 0
            changes: list[list[Any]] | None = []
            reason = genesis_fault(block)
        else:
            changes, reason = self._check(block, position, self.tip)
        if reason is not None or changes is None:
            self.fault = Fault(position, reason or "its changes are malformed")
            return None
        self.tip = block
        return changes

    def _check(
        self, block: Block, position: int, tip: Block
    ) -> tuple[list[list[Any]] | None, str | None]:
        reason = header_fault(block, position, tip)
        if reason is not None:
            return None, reason
        required = self.history.difficulty_at(position)
        if required is None:
            return None, "no validly signed difficulty record covers its height"
        if block.difficulty != required:
            return None, (
                f"it claims difficulty {block.difficulty}; the signed history requires {required}"
            )
        try:
            changes = json.loads(block.changes)
        except (ValueError, RecursionError):
            return None, "its changes are malformed"
        if type(changes) is not list:
            return None, "its changes are malformed"
        return changes, self._apply(changes, tip.through, block.through)

    def _apply(self, changes: list[Any], after: int, through: int) -> str | None:
        """Apply one block's changes, each checked against the state before it; on the
        first bad one, undo the block and say why. (The hot loop of start-up: kept flat.)"""
        rows, vs, rs, firsts, lasts, votes = (
            self.rows,
            self._v,
            self._r,
            self._first,
            self._last,
            self.votes,
        )
        created = len(vs)  # rows from here on are new in this block
        undo: list[tuple[int, int, int, int, int]] = []
        undo_votes: list[tuple[dict[int, int], int, int | None]] = []
        last = after
        reason: str | None = None
        for change in changes:
            if type(change) is not list or len(change) != 7:
                reason = "its changes are malformed"
                break
            key, v, r, at_us, cited, user, vote = change
            if (
                type(key) is not str
                or type(user) is not str
                or type(v) is not int
                or type(r) is not int
                or type(at_us) is not int
                or type(cited) is not int
                or (vote != 1 and vote != -1)
                or type(vote) is not int
            ):
                reason = "its changes are malformed"
                break
            if not last < cited <= through:
                reason = f"a change cites interaction {cited}, outside ({last}, {through}]"
                break
            last = cited
            row = rows.get(key)
            if row is None:
                row = rows[key] = len(vs)
                vs.append(0)
                rs.append(0)
                firsts.append(0)
                lasts.append(0)
                ev = er = 0
            else:
                ev, er = vs[row], rs[row]
                if row < created:
                    undo.append((row, ev, er, firsts[row], lasts[row]))
            mine = votes.get(user)
            if mine is None:
                mine = votes[user] = {}
            previous = mine.get(row)
            if previous == vote:
                reason = f"{user!r} already stood at {vote:+d} on {key!r}"
                break
            # the counts after the vote moves (as ``moved``, inline: this runs per change)
            if previous == 1:
                ev -= 1
            elif previous == -1:
                er -= 1
            if vote == 1:
                ev += 1
            else:
                er += 1
            if v != ev or r != er:
                reason = f"the counts of {key!r} do not follow from its vote"
                break
            undo_votes.append((mine, row, previous))
            mine[row] = vote
            vs[row] = v
            rs[row] = r
            first = firsts[row]
            if first == 0 or at_us < first:
                firsts[row] = at_us
            if at_us > lasts[row]:
                lasts[row] = at_us
        if reason is not None:
            self._undo(created, undo, undo_votes)
        return reason

    def _undo(
        self,
        created: int,
        undo: list[tuple[int, int, int, int, int]],
        undo_votes: list[tuple[dict[int, int], int, int | None]],
    ) -> None:
        for mine, row, previous in reversed(undo_votes):
            if previous is None:
                mine.pop(row, None)
            else:
                mine[row] = previous
        for row, v, r, first, last in reversed(undo):
            self._v[row], self._r[row], self._first[row], self._last[row] = v, r, first, last
        for key in list(self.rows)[created:]:
            del self.rows[key]
        for column in (self._v, self._r, self._first, self._last):
            del column[created:]
