"""Repair: what to cut, what to acknowledge, and the report of both.

A block that breaks the chain takes every block after it: they are cut and what they
carried is sealed again from the log (the report names that interaction range — its
commitment is gone, the log is all that is left of it). A block whose rows were edited
after sealing keeps its votes (trust never takes the edited rows); the chain cannot give
the rows back, so the repair reports which interactions no longer say what was sealed and
records a signed acknowledgement of the block's current rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from qfzz.models import LedgerEvent
from qfzz.trust._audit import Audit, RowDamage
from qfzz.trust._chain import Fault
from qfzz.trust._events import ROWS, sign_event
from qfzz.trust._ports import BlockStore
from qfzz.trust._signing import LedgerKey


@dataclass(frozen=True, slots=True)
class RepairReport:
    first_bad_block: int | None
    removed_blocks: int
    mined_blocks: int
    changes: int
    reason: str | None = None
    #: interaction ids (after, through] whose blocks were cut: derived again from the log,
    #: which is all that is left of them
    rederived: tuple[int, int] | None = None
    #: blocks whose edited rows could not be restored: acknowledged by a signed event,
    #: their sealed votes kept (never the edited rows)
    acknowledged: tuple[RowDamage, ...] = ()
    valid: bool = True  # the verification after the repair


def cut_at(blocks: BlockStore, fault: Fault) -> tuple[int, tuple[int, int] | None]:
    """Remove the blocks from the broken one on; returns how many, and the interaction
    ids (after, through] they covered."""
    cut = fault.block
    kept = blocks.blocks(start=cut - 1, limit=1) if cut else []
    last = blocks.blocks(start=max(blocks.height() - 1, 0), limit=1)
    after = kept[0].through if kept else 0
    through = max((b.through for b in last), default=after)
    removed = blocks.truncate_from(cut)
    return removed, ((after, through) if through > after else None)


def edited_blocks(audit: Audit) -> tuple[RowDamage, ...]:
    """The blocks before any broken one whose rows were edited."""
    return tuple(d for d in audit.damage if audit.fault is None or d.block < audit.fault.block)


def acknowledgements(
    damage: tuple[RowDamage, ...], key: LedgerKey, first_seq: int, now_us: int
) -> list[LedgerEvent]:
    """Signed ``rows`` events accepting each block's current rows (by their log hash)."""
    return [
        sign_event(key, first_seq + n, ROWS, d.block, d.found_hash, now_us)
        for n, d in enumerate(damage)
    ]
