"""Signed ledger events: the difficulty history and repairs' acknowledgements.

An event is signed with the station's ledger key over this UTF-8 text::

    qfzz-ledger-event-v1
    <seq>              its number (chosen by the writer: one above the newest stored)
    <kind>             "difficulty" or "rows"
    <height>           the block it is about
    <value>            difficulty: the number of hex zeros; rows: a 64-hex log hash
    <recorded_at_us>

*difficulty*: blocks from ``height`` on are mined at ``value`` hex zeros. The difficulty a
block must meet is that of the validly signed difficulty event with the highest ``seq``
among those with ``height`` ≤ the block's height (a repair that cuts the chain records a
new one, which then overrides the old for the heights it mines again). A block no signed
event covers is invalid, so a chain without a signed history fails at block 1.

*rows*: a repair found the interaction rows of block ``height`` edited after it was
sealed and could not restore them; their current log hash ``value`` is accepted for that
block from then on (trust keeps the votes the block sealed, never the edited rows).

An event whose signature does not verify is ignored: forging one gains nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from qfzz.models import LedgerEvent
from qfzz.trust._blocks import MAX_DIFFICULTY, is_hex_hash
from qfzz.trust._signing import LedgerKey, LedgerVerifier

DIFFICULTY = "difficulty"
ROWS = "rows"
_DIFFICULTIES = frozenset(str(d) for d in range(MAX_DIFFICULTY + 1))


def event_text(seq: int, kind: str, height: int, value: str, recorded_at_us: int) -> bytes:
    fields = ("qfzz-ledger-event-v1", seq, kind, height, value, recorded_at_us)
    return "\n".join(str(f) for f in fields).encode()


def sign_event(
    key: LedgerKey, seq: int, kind: str, height: int, value: str, recorded_at_us: int
) -> LedgerEvent:
    signature = key.sign(event_text(seq, kind, height, value, recorded_at_us))
    return LedgerEvent(seq, kind, height, value, recorded_at_us, signature)


def _well_formed(event: LedgerEvent) -> bool:
    if event.kind == DIFFICULTY:
        return event.value in _DIFFICULTIES
    return event.kind == ROWS and is_hex_hash(event.value)


@dataclass(slots=True)
class EventHistory:
    """The validly signed events, and what they say about each height."""

    difficulties: list[tuple[int, int, int]] = field(default_factory=list)  # seq, from, value
    accepted_rows: dict[int, set[str]] = field(default_factory=dict)
    next_seq: int = 1
    ignored: int = 0  # events whose signature or form was bad

    @classmethod
    def of(cls, events: Iterable[LedgerEvent], verifier: LedgerVerifier) -> EventHistory:
        history = cls()
        for event in events:
            history.add(event, verifier)
        return history

    def add(self, event: LedgerEvent, verifier: LedgerVerifier) -> bool:
        """Take in a stored event; ``False`` (and ignored) when it is not validly signed."""
        self.next_seq = max(self.next_seq, event.seq + 1)
        text = event_text(event.seq, event.kind, event.height, event.value, event.recorded_at_us)
        if not (_well_formed(event) and verifier.verify(text, event.signature)):
            self.ignored += 1
            return False
        if event.kind == DIFFICULTY:
            self.difficulties.append((event.seq, event.height, int(event.value)))
            self.difficulties.sort()
        else:
            self.accepted_rows.setdefault(event.height, set()).add(event.value)
        return True

    def difficulty_at(self, height: int) -> int | None:
        """The difficulty block ``height`` must meet, or ``None`` if no record covers it."""
        for _, start, value in reversed(self.difficulties):
            if start <= height:
                return value
        return None
