"""The trust ledger: votes → trust records → pending changes → mined, persisted blocks.

Votes are derived from interactions, which the store commits in id order. The ledger
hears each committed batch on the committing thread (so in the same order), updates the
records at once, and queues the state changes. A block records the last interaction id
it covers (``through``); after a restart, the changes still pending are derived again
from the interactions after the newest valid block, so an acknowledged vote is never lost.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from qfzz.errors import ChainInvalid
from qfzz.models import Block, Interaction, InteractionType
from qfzz.trust._blocks import GENESIS, MAX_DIFFICULTY, Change, first_bad_block, mine
from qfzz.trust._records import TrustIndex, TrustRecord, trust_key

log = logging.getLogger(__name__)

_POSITIVE = {InteractionType.PLAY, InteractionType.LIKE, InteractionType.FAVORITE}


def vote_of(interaction: Interaction) -> int:
    """+1 verifies, -1 reports: like, play, favorite and a rating ≥ 0.5 verify."""
    if interaction.type is InteractionType.RATE:
        return 1 if (interaction.rating or 0.0) >= 0.5 else -1
    return 1 if interaction.type in _POSITIVE else -1


class BlockStore(Protocol):
    def append(self, blocks: Sequence[Block]) -> None: ...
    def blocks(self, *, start: int = 0, limit: int | None = None) -> Sequence[Block]: ...
    def truncate_from(self, height: int) -> int: ...


class History(Protocol):
    def latest_per_track(self, through: int) -> list[tuple[int, Interaction]]: ...
    def after(self, after_id: int) -> list[tuple[int, Interaction]]: ...


Identities = Callable[[Sequence[int] | None], list[tuple[int, str | None, str | None]]]


@dataclass(frozen=True, slots=True)
class ChainStatus:
    valid: bool
    height: int
    first_bad_block: int | None


@dataclass(frozen=True, slots=True)
class RepairReport:
    first_bad_block: int | None
    removed_blocks: int
    mined_blocks: int
    changes: int


class TrustLedger:
    def __init__(
        self,
        blocks: BlockStore,
        history: History,
        identities: Identities,
        *,
        clock: Callable[[], float],
        difficulty: int = 3,
        mine_every_records: int = 100,
        mine_every_seconds: float = 30.0,
    ) -> None:
        if not 0 <= difficulty <= MAX_DIFFICULTY:
            raise ValueError(f"difficulty must be in 0..{MAX_DIFFICULTY}")
        self._blocks = blocks
        self._history = history
        self._identities = identities
        self._clock = clock
        self.difficulty = difficulty
        self.mine_every_records = mine_every_records
        self.mine_every_seconds = mine_every_seconds
        self.index = TrustIndex()
        self._lock = threading.RLock()
        self._mining = threading.Lock()
        self._reset_state()
        self.wake_miner: Callable[[], None] = lambda: None
        self.blocks_mined = 0
        self.mining_seconds = 0.0  # total time spent in proof of work (for /metrics)

    def _reset_state(self) -> None:
        self.index = TrustIndex()
        self._votes: dict[str, dict[int, int]] = {}
        self._track_rows: dict[int, int] = {}
        self._track_keys: dict[int, str] = {}
        self._pending: list[tuple[Change, int]] = []  # (change, interaction id)
        self._through = 0
        self._tip: Block = GENESIS
        self._height = 1
        self._first_bad: int | None = None
        self._last_mined_at = self._clock()

    # -- state --------------------------------------------------------------------------

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    @property
    def height(self) -> int:
        return self._height

    @property
    def valid(self) -> bool:
        return self._first_bad is None

    def record(self, content_id: str, creator_id: str) -> TrustRecord | None:
        return self.index.get(trust_key(content_id, creator_id))

    def score(self, content_id: str, creator_id: str) -> float:
        return self.index.score(trust_key(content_id, creator_id))

    def track_scores(self, track_ids: Sequence[int]) -> npt.NDArray[np.float64]:
        """Trust scores of tracks (neutral for tracks nobody voted on), vectorised."""
        rows = np.fromiter((self._track_rows.get(int(t), -1) for t in track_ids), np.int32)
        return self.index.scores(rows)

    # -- loading ------------------------------------------------------------------------

    def load(self) -> ChainStatus:
        """Validate the stored chain and rebuild the index from it plus the log after it."""
        with self._lock:
            self._reset_state()
            stored = list(self._blocks.blocks())
            if not stored:
                self._blocks.append([GENESIS])
                stored = [GENESIS]
            bad = first_bad_block(stored)
            good = stored if bad is None else stored[: max(bad, 1)]
            if bad == 0:
                good = [GENESIS]
            for block in good[1:]:
                for key, verifications, reports, at_us in block.decoded_changes():
                    self.index.set(self.index.row(key), verifications, reports, at_us)
            self._tip, self._height, self._first_bad = good[-1], len(stored), bad
            self._through = self._tip.through
            self._map_tracks(None)
            self._restore_votes(self._tip.through)
            self.apply_committed(self._history.after(self._tip.through))
            if bad is not None:
                log.critical(
                    "trust ledger is invalid from block %d of %d: mining is stopped until "
                    "`qfzz ledger repair`",
                    bad,
                    len(stored),
                )
            return self.status()

    def _map_tracks(self, track_ids: Sequence[int] | None) -> None:
        """Learn the trust key of tracks (and which rows have records already)."""
        for track_id, content_id, creator_id in self._identities(track_ids):
            key = trust_key(content_id or f"track-{track_id}", creator_id or "")
            self._track_keys[track_id] = key
            row = self.index.find(key)
            if row >= 0:
                self._track_rows[track_id] = row

    def _restore_votes(self, through: int) -> None:
        """Each listener's standing vote per content item, as of interaction ``through``."""
        newest: dict[tuple[str, int], tuple[int, int]] = {}
        for interaction_id, interaction in self._history.latest_per_track(through):
            row = self._row_for_track(interaction.track_id)
            slot = (interaction.user_id, row)
            if slot not in newest or newest[slot][0] < interaction_id:
                newest[slot] = (interaction_id, vote_of(interaction))
        for (user, row), (_, vote) in newest.items():
            self._votes.setdefault(user, {})[row] = vote

    def _row_for_track(self, track_id: int) -> int:
        row = self._track_rows.get(track_id)
        if row is not None:
            return row
        if track_id not in self._track_keys:
            self._map_tracks([track_id])
        key = self._track_keys.get(track_id, f"track-{track_id}:")
        row = self.index.row(key)
        self._track_rows[track_id] = row
        return row

    # -- votes ----------------------------------------------------------------------------

    def apply_committed(self, committed: Sequence[tuple[int, Interaction]]) -> None:
        """Turn committed interactions (in id order) into votes and record changes."""
        if not committed:
            return
        with self._lock:
            unknown = {i.track_id for _, i in committed if i.track_id not in self._track_rows}
            if unknown:
                self._map_tracks(sorted(unknown))
            for interaction_id, interaction in committed:
                self._vote(interaction, interaction_id)
                self._through = max(self._through, interaction_id)
        if len(self._pending) >= self.mine_every_records:
            self.wake_miner()

    def _vote(self, interaction: Interaction, interaction_id: int) -> None:
        row = self._row_for_track(interaction.track_id)
        vote = vote_of(interaction)
        mine_ = self._votes.setdefault(interaction.user_id, {})
        previous = mine_.get(row)
        if previous == vote:
            return  # the same listener again in the same direction: no ballot stuffing
        verifications = int(self.index.verifications[row])
        reports = int(self.index.reports[row])
        if previous == 1:
            verifications -= 1
        elif previous == -1:
            reports -= 1
        if vote == 1:
            verifications += 1
        else:
            reports += 1
        mine_[row] = vote
        at_us = round(interaction.created_at * 1_000_000)
        self.index.set(row, verifications, reports, at_us)
        change = (self.index.key_of(row), verifications, reports, at_us)
        self._pending.append((change, interaction_id))

    # -- mining ---------------------------------------------------------------------------

    def should_mine(self) -> bool:
        if not self._pending or not self.valid:
            return False
        waited = self._clock() - self._last_mined_at
        return len(self._pending) >= self.mine_every_records or waited >= self.mine_every_seconds

    def mine(self, *, max_changes: int | None = None) -> Block | None:
        """Seal pending changes into one block and persist it (off the request path)."""
        with self._mining:
            with self._lock:
                if not self.valid:
                    raise ChainInvalid(
                        f"the ledger is invalid from block {self._first_bad}; repair it first"
                    )
                if not self._pending:
                    return None
                count = len(self._pending) if max_changes is None else max_changes
                taken = self._pending[:count]
                changes = [change for change, _ in taken]
                # Everything up to the last taken change's interaction is now sealed (or
                # changed nothing); with all pending taken, so is everything heard so far.
                through = self._through if count >= len(self._pending) else taken[-1][1]
                tip, height = self._tip, self._height
            block = mine(
                height,
                round(self._clock() * 1_000_000),
                through,
                self.difficulty,
                tip.hash,
                changes,
            )
            self._blocks.append([block])
            with self._lock:
                del self._pending[: len(changes)]
                self._tip, self._height = block, height + 1
                self._last_mined_at = self._clock()
            return block

    def mine_all(self) -> list[Block]:
        blocks = []
        while self._pending:
            mined = self.mine(max_changes=min(self.mine_every_records, len(self._pending)))
            if mined is None:
                break
            blocks.append(mined)
        return blocks

    # -- validation and repair ------------------------------------------------------------

    def is_chain_valid(self) -> ChainStatus:
        """Recompute every stored block's hash, link and proof of work."""
        stored = list(self._blocks.blocks())
        bad = first_bad_block(stored)
        return ChainStatus(bad is None, len(stored), bad)

    def status(self) -> ChainStatus:
        return ChainStatus(self.valid, self._height, self._first_bad)

    def repair_chain(self) -> RepairReport:
        """Cut the chain at its first bad block, re-derive what it carried, mine it again."""
        with self._mining:
            bad = self.is_chain_valid().first_bad_block
            if bad is None:
                return RepairReport(None, 0, 0, 0)
            removed = self._blocks.truncate_from(max(bad, 1) if bad else 0)
        self.load()
        changes = self.pending_count
        mined = self.mine_all()
        log.warning(
            "trust ledger repaired: removed %d blocks from block %d, re-derived %d changes "
            "from stored interactions into %d new blocks",
            removed,
            bad,
            changes,
            len(mined),
        )
        return RepairReport(bad, removed, len(mined), changes)

    def blocks(self, *, start: int = 0, limit: int | None = None) -> list[Block]:
        return list(self._blocks.blocks(start=start, limit=limit))
