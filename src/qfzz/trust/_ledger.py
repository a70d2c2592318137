"""The trust ledger: votes → trust records → pending changes → mined, persisted blocks.

Votes are derived from the interaction log strictly in id order, whoever wrote the rows:
this station, a CLI command beside it, another process. The store commits interactions in
id order (``InteractionRepository.write_batch``), so reading on from the last id seen never
skips one. Batches this process commits arrive as a hint on the committing thread and are
used when they continue the watermark; a gap (someone else's rows) and every decision to
mine are preceded by a catch-up read of the ids after the watermark.

Each block records the last interaction id it covers (``through``) and commits to those
rows (``log_hash``); each change carries its voter, vote and interaction, so the sealed
state — records and every listener's standing vote — is restored from the chain alone.
After a restart only the interactions after the newest block are read again.

Another miner (``qfzz ledger mine`` beside the server, another API process) is noticed
when the store refuses a block (``ChainConflict``): the ledger reads the blocks the other
one stored and, when they seal exactly what it holds pending — as they do when both
derived their votes from the same log — takes them on and goes on mining. Anything else
(a repair, an edit) makes it reload the chain: replay every block, derive its pending
changes again from the log after the new tip. A replay costs the whole chain, so it is
never what an ordinary race between miners costs.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future

import numpy as np
import numpy.typing as npt

from qfzz.errors import ChainConflict, ChainInvalid
from qfzz.models import Block, Interaction, LedgerEvent
from qfzz.trust._audit import Audit, RowDamage, audit_chain
from qfzz.trust._blocks import GENESIS, MAX_DIFFICULTY, mine
from qfzz.trust._chain import ChainReplay, ChainStatus, Fault, stored_blocks
from qfzz.trust._events import DIFFICULTY, EventHistory, sign_event
from qfzz.trust._loghash import LogHasher
from qfzz.trust._ports import BlockStore, History
from qfzz.trust._records import TrustIndex, TrustRecord, trust_key
from qfzz.trust._repair import RepairReport, acknowledgements, cut_at, edited_blocks
from qfzz.trust._shared import SharedRun
from qfzz.trust._signing import LedgerKey
from qfzz.trust._state import Identities, LedgerState

log = logging.getLogger(__name__)

#: Rows read per query when catching up with the log or hashing it.
CHUNK = 5000
#: Blocks read per query when loading the chain.
PAGE = 1000
#: How long a finished verification is reused while nothing changed (injected clock).
VERIFY_MAX_AGE = 60.0
#: Consecutive conflicts after which ``mine_all`` gives up (someone keeps writing).
MAX_CONFLICTS = 5


class TrustLedger:
    def __init__(
        self,
        blocks: BlockStore,
        history: History,
        identities: Identities,
        *,
        key: LedgerKey,
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
        self._key = key
        self._clock = clock
        self.difficulty = difficulty
        self.mine_every_records = mine_every_records
        self.mine_every_seconds = mine_every_seconds
        self._lock = threading.RLock()  # guards the state's contents
        self._mining = threading.RLock()  # one miner, repair or reload at a time
        self._state = self._empty_state()
        # Found by the newest verification: a block that breaks the chain (mining stops,
        # as when one is found on load) and a block whose rows were edited (mining goes
        # on: the chain is whole and new blocks seal only new rows).
        self._broken: Fault | None = None
        self._damage: RowDamage | None = None
        self._verification: SharedRun[Audit] = SharedRun(
            self._audit, self._fingerprint, clock=clock, max_age=VERIFY_MAX_AGE
        )
        self.wake_miner: Callable[[], None] = lambda: None
        self.blocks_mined = 0
        self.mining_seconds = 0.0  # total time spent in proof of work (for /metrics)

    def _empty_state(self) -> LedgerState:
        return LedgerState(
            self._identities, TrustIndex(), {}, EventHistory(), GENESIS, 1, None, 0, self._clock()
        )

    # -- state --------------------------------------------------------------------------

    @property
    def index(self) -> TrustIndex:
        return self._state.index

    @property
    def public_key(self) -> str:
        return self._key.public_key_hex

    @property
    def pending_count(self) -> int:
        return len(self._state.pending)

    @property
    def height(self) -> int:
        return self._state.height

    @property
    def valid(self) -> bool:
        return self._fault() is None and self._damage is None

    def _fault(self) -> Fault | None:
        found, broken = self._state.fault, self._broken
        if found is None or (broken is not None and broken.block < found.block):
            return broken
        return found

    def record(self, content_id: str, creator_id: str) -> TrustRecord | None:
        return self._state.index.get(trust_key(content_id, creator_id))

    def score(self, content_id: str, creator_id: str) -> float:
        return self._state.index.score(trust_key(content_id, creator_id))

    def track_scores(self, track_ids: Sequence[int]) -> npt.NDArray[np.float64]:
        """Trust scores of tracks (neutral for tracks nobody voted on), vectorised."""
        state = self._state  # one reference: a reload swaps the whole state
        rows = np.fromiter((state.track_rows.get(int(t), -1) for t in track_ids), np.int32)
        return state.index.scores(rows)

    def trust_filter(
        self, threshold: float, min_voters: int = 1
    ) -> Callable[[npt.NDArray[np.int64]], npt.NDArray[np.bool_]]:
        """Which of some tracks may be played: trust score at least ``threshold`` once
        ``min_voters`` distinct listeners voted on the track, neutral before (the DJ's
        filter; reads the ledger's current state at each call)."""
        if min_voters < 1:
            raise ValueError("min_voters must be at least 1")

        def trusted(track_ids: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
            state = self._state  # one reference: a reload swaps the whole state
            rows = np.fromiter(
                (state.track_rows.get(int(t), -1) for t in track_ids.tolist()), np.int32
            )
            return state.index.trusted(rows, threshold, min_voters)

        return trusted

    def status(self) -> ChainStatus:
        state, damage = self._state, self._damage
        fault = self._fault()
        if damage is not None and (fault is None or damage.block < fault.block):
            return ChainStatus(False, state.height, damage.block, damage.describe())
        if fault is not None:
            return ChainStatus(False, state.height, fault.block, fault.describe())
        return ChainStatus(True, state.height, None, None)

    # -- loading ------------------------------------------------------------------------

    def load(self) -> ChainStatus:
        """Check the stored chain and rebuild the state from it plus the log after it."""
        with self._mining:
            self._reload()
            status = self.status()
            if status.first_bad_block is not None:
                log.critical(
                    "trust ledger is invalid from %s: mining is stopped until `qfzz ledger repair`",
                    status.reason,
                )
            return status

    def _reload(self) -> None:
        state = self._build()
        with self._lock:
            self._state = state
            self._broken = None  # the new state's replay found what breaks the chain
        self._catch_up()  # what was committed while the new state was being built

    def _follow(self) -> None:
        """Take on the blocks another miner stored (``LedgerState.take_sealed``), or
        reload the chain when they are not what this state would have sealed."""
        self._catch_up()  # the other miner's blocks cover rows this process may not have read
        seen = self._blocks.fingerprint()
        state = self._state
        # the signed records (difficulty) are few: read whole, as a replay reads them
        history = state.history if seen[1] == state.seen[1] else self._signed_history()
        blocks = list(stored_blocks(self._blocks, seen[0], page=PAGE, start=state.height))
        with self._lock:
            if self._state is state:
                state.history = history
                if all(state.take_sealed(b) for b in blocks) and state.height == seen[0]:
                    state.seen = seen
                    state.last_mined_at = self._clock()  # the station mined just now
                    return
        self._reload()

    def _signed_history(self) -> EventHistory:
        return EventHistory.of(self._blocks.events(), self._key)

    def _build(self) -> LedgerState:
        seen = self._blocks.fingerprint()  # before the events: see ``audit_chain``
        if seen[0] == 0:
            with contextlib.suppress(ChainConflict):  # another process wrote it first
                self._blocks.append([GENESIS])
            seen = self._blocks.fingerprint()
        replay = ChainReplay(self._signed_history())
        for block in stored_blocks(self._blocks, seen[0], page=PAGE):
            replay.feed(block)
        tip = replay.tip or GENESIS
        state = LedgerState.of_replay(replay, tip, self._identities, self._clock())
        state.seen = seen
        self._read_log(state)
        return state

    # -- votes ----------------------------------------------------------------------------

    def apply_committed(self, committed: Sequence[tuple[int, Interaction]]) -> None:
        """A hint from the committing thread: interactions this process just committed.

        Used when they continue the watermark; otherwise (another process wrote in
        between) the log is read from the watermark instead.
        """
        if not committed:
            return
        with self._lock:
            state = self._state
            continues = state.continues(committed)
            if continues:
                state.apply(committed)
        if not continues:
            self._catch_up()
        if len(self._state.pending) >= self.mine_every_records:
            self.wake_miner()

    def _catch_up(self) -> None:
        """Turn every interaction committed after the watermark into votes."""
        while True:
            state = self._state
            after = state.through
            rows = self._history.after(after, limit=CHUNK)
            if not rows:
                return
            with self._lock:
                if self._state is not state:
                    continue  # swapped by a reload meanwhile: read on from its watermark
                state.apply(rows)  # ids ≤ the watermark (a hint got there first) skipped
            if len(rows) < CHUNK:
                return

    def _read_log(self, state: LedgerState) -> None:
        """Bring a state that nobody else sees yet up to the end of the log."""
        while True:
            rows = self._history.after(state.through, limit=CHUNK)
            state.apply(rows)
            if len(rows) < CHUNK:
                return

    # -- mining ---------------------------------------------------------------------------

    def should_mine(self) -> bool:
        self._catch_up()  # an indexed read, usually empty: counts other processes' rows
        if self._fault() is not None and self._blocks.fingerprint() != self._state.seen:
            with self._mining:  # repaired (or cut) by another process: read it again
                self._reload()
        state = self._state
        if not state.pending or self._fault() is not None:
            return False
        waited = self._clock() - state.last_mined_at
        return len(state.pending) >= self.mine_every_records or waited >= self.mine_every_seconds

    def mine(self, *, max_changes: int | None = None) -> Block | None:
        """Seal pending changes into one block and persist it (off the request path).

        Returns ``None`` when nothing is pending, or when another miner took the height
        (the ledger then reloads: the caller may simply try again).
        """
        with self._mining:
            self._catch_up()
            with self._lock:
                state = self._state
                fault = self._fault()
                if fault is not None:
                    raise ChainInvalid(
                        f"the ledger is invalid ({fault.describe()}); repair it first"
                    )
                if not state.pending:
                    return None
                count = len(state.pending) if max_changes is None else max(1, max_changes)
                taken = state.pending[:count]
                # Everything up to the last taken change's interaction is now sealed (or
                # changed nothing); with all pending taken, so is everything heard so far.
                through = state.through if count >= len(state.pending) else taken[-1][4]
                tip, height = state.tip, state.height
            now_us = round(self._clock() * 1_000_000)
            events = self._difficulty_events(state.history, height, now_us)
            log_hash = self._log_hash(tip, through)
            started = time.perf_counter()
            block = mine(height, now_us, through, self.difficulty, tip.hash, taken, log_hash)
            self.mining_seconds += time.perf_counter() - started
            try:
                self._blocks.append([block], events)
            except ChainConflict:
                log.info("another writer sealed block %d first; following it", height)
                self._follow()
                return None
            with self._lock:
                del state.pending[: len(taken)]
                state.tip, state.height = block, height + 1
                for event in events:
                    state.history.add(event, self._key)
                state.last_mined_at = self._clock()
            self.blocks_mined += 1
            return block

    def _difficulty_events(
        self, history: EventHistory, height: int, now_us: int
    ) -> list[LedgerEvent]:
        """A signed record when the configured difficulty is not the one in effect."""
        if history.difficulty_at(height) == self.difficulty:
            return []
        log.info("trust ledger difficulty %d from block %d (signed)", self.difficulty, height)
        value = str(self.difficulty)
        return [sign_event(self._key, history.next_seq, DIFFICULTY, height, value, now_us)]

    def _log_hash(self, tip: Block, through: int) -> str:
        """The running hash of the rows (tip.through, through], read in chunks."""
        hasher = LogHasher(tip.log_hash)
        after = tip.through
        while after < through:
            rows = self._history.raw_after(after, limit=CHUNK, through=through)
            if not rows:
                break
            hasher.update(rows)
            after = rows[-1][0]
        return hasher.hexdigest()

    def mine_all(self) -> list[Block]:
        blocks: list[Block] = []
        conflicts = 0
        with self._mining:
            self._catch_up()
            while self._state.pending:
                pending = len(self._state.pending)
                mined = self.mine(max_changes=min(self.mine_every_records, pending))
                if mined is not None:
                    blocks.append(mined)
                    conflicts = 0
                    continue
                conflicts += 1
                if conflicts >= MAX_CONFLICTS:
                    raise ChainInvalid("another writer keeps extending the ledger; try again")
        return blocks

    # -- verification and repair ----------------------------------------------------------

    def verify(self) -> ChainStatus:
        """Check the whole stored chain and the interactions it covers (shared: see
        ``verification``)."""
        return self.verification().result().status

    def verification(self) -> Future[Audit]:
        """A full check, shared by concurrent callers and reused while nothing changed."""
        return self._verification.result()

    @property
    def verification_runs(self) -> int:
        """How many full verifications actually ran (the rest shared or reused one)."""
        return self._verification.runs

    def _fingerprint(self) -> tuple[tuple[int, int, str], int]:
        return self._blocks.fingerprint(), self._history.last_id()

    def _audit(self) -> Audit:
        audit = audit_chain(self._blocks, self._history, self._key)
        self._broken = audit.fault
        self._damage = audit.damage[0] if audit.damage else None
        return audit

    def repair_chain(self) -> RepairReport:
        """Cut the chain at its first broken block and seal again what it carried from the
        log; acknowledge (signed) blocks whose rows were edited, keeping their votes."""
        with self._mining:
            audit = self._audit()
            status = audit.status
            if status.valid:
                return RepairReport(None, 0, 0, 0)
            removed, rederived = 0, None
            if audit.fault is not None:
                removed, rederived = cut_at(self._blocks, audit.fault)
            self._reload()
            changes = len(self._state.pending)
            mined = self.mine_all()
            acknowledged = self._acknowledge(self._audit())
            self._verification.forget()
            final = self._audit().status
            log.warning(
                "trust ledger repaired from block %s (%s): removed %d blocks, re-derived %d "
                "changes into %d new blocks, acknowledged edited rows of blocks %s",
                status.first_bad_block,
                status.reason,
                removed,
                changes,
                len(mined),
                [d.block for d in acknowledged],
            )
            return RepairReport(
                status.first_bad_block,
                removed,
                len(mined),
                changes,
                status.reason,
                rederived,
                acknowledged,
                final.valid,
            )

    def _acknowledge(self, audit: Audit) -> tuple[RowDamage, ...]:
        damage = edited_blocks(audit)
        if not damage:
            return ()
        now_us = round(self._clock() * 1_000_000)
        for _ in range(MAX_CONFLICTS):
            events = acknowledgements(damage, self._key, self._state.history.next_seq, now_us)
            try:
                self._blocks.append_events(events)
                break
            except ChainConflict:  # another process recorded an event: number after it
                self._reload()
        else:
            raise ChainInvalid("another writer keeps changing the ledger; try again")
        with self._lock:
            for event in events:
                self._state.history.add(event, self._key)
        for d in damage:
            log.warning("acknowledged edited rows: %s", d.describe())
        return damage

    def blocks(self, *, start: int = 0, limit: int | None = None) -> list[Block]:
        return list(self._blocks.blocks(start=start, limit=limit))

    def events(self) -> list[LedgerEvent]:
        return list(self._blocks.events())
