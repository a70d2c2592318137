"""What the ledger holds in memory: trust records, standing votes, pending changes.

One ``LedgerState`` is built from the stored chain plus the interaction log after it and
then only moves forward, one interaction id at a time (``through`` is the watermark: every
id up to it has been turned into votes). A reload builds a new state aside and the ledger
swaps it in as one reference, so readers never see a half-built one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from qfzz.models import Block, Interaction
from qfzz.trust._blocks import Change, encode_changes, header_fault
from qfzz.trust._chain import ChainReplay, Fault
from qfzz.trust._events import EventHistory
from qfzz.trust._records import TrustIndex, trust_key
from qfzz.trust._votes import moved, vote_of


class Identities(Protocol):
    """``(track id, content id, creator id)`` of the given tracks and of the tracks
    holding any of ``content_ids`` (the store's ``TrackRepository.trust_identities``)."""

    def __call__(
        self, track_ids: Sequence[int] = (), *, content_ids: Sequence[str] = ()
    ) -> list[tuple[int, str | None, str | None]]: ...


@dataclass(slots=True)
class LedgerState:
    identities: Identities
    index: TrustIndex
    votes: dict[str, dict[int, int]]  # user → index row → standing vote
    history: EventHistory
    tip: Block  # the newest good block
    height: int  # stored blocks (the next block's index while the chain is good)
    fault: Fault | None  # the first bad stored block, if any
    through: int  # every interaction id ≤ this has been turned into votes
    last_mined_at: float
    pending: list[Change] = field(default_factory=list)
    #: the store's (height, events, newest hash) when the chain was read: a change means another
    #: process extended, cut or repaired it
    seen: tuple[int, int, str] = (0, 0, "")
    #: track id → its record's row, only for tracks whose record exists: an empty ledger
    #: holds nothing per track, however large the catalog
    track_rows: dict[int, int] = field(default_factory=dict)

    @classmethod
    def of_replay(
        cls, replay: ChainReplay, tip: Block, identities: Identities, now: float
    ) -> LedgerState:
        state = cls(
            identities,
            replay.index(),
            replay.votes,
            replay.history,
            tip,
            replay.count,
            replay.fault,
            tip.through,
            now,
        )
        state.map_recorded()
        return state

    def map_recorded(self) -> None:
        """Learn which tracks have a record: those whose trust key is one of the index's.

        A key is ``content_id:creator_id``, or ``track-N:creator_id`` for a track without
        a content id, so the candidates are read by content id (each prefix of a key up to
        a colon) and by id (``N``) — as many rows as there are records, not tracks.
        """
        contents: set[str] = set()
        ids: set[int] = set()
        for key in self.index.record_keys():
            at = key.find(":")
            while at >= 0:
                contents.add(key[:at])
                at = key.find(":", at + 1)
            number = key.removeprefix("track-").partition(":")[0]
            if key.startswith("track-") and number.isdigit():
                ids.add(int(number))
        if not contents and not ids:
            return
        found = self._keys(self.identities(sorted(ids), content_ids=sorted(contents)))
        for track_id, key in found.items():
            row = self.index.find(key)
            if row >= 0:
                self.track_rows[track_id] = row

    def _keys(self, identities: list[tuple[int, str | None, str | None]]) -> dict[int, str]:
        return {
            track_id: trust_key(content_id or f"track-{track_id}", creator_id or "")
            for track_id, content_id, creator_id in identities
        }

    def _row_for_track(self, track_id: int, keys: dict[int, str]) -> int:
        """The row of a track's record, created (neutral) when the track has none yet;
        ``keys`` holds the keys of the tracks this batch of votes mentions."""
        row = self.track_rows.get(track_id)
        if row is None:
            key = keys.get(track_id) or trust_key(f"track-{track_id}", "")  # a track gone
            row = self.track_rows[track_id] = self.index.row(key)
        return row

    def apply(self, committed: Sequence[tuple[int, Interaction]]) -> None:
        """Turn interactions read in id order into votes; ids ≤ ``through`` are skipped."""
        fresh = [(i, x) for i, x in committed if i > self.through]
        unknown = {x.track_id for _, x in fresh if x.track_id not in self.track_rows}
        keys = self._keys(self.identities(sorted(unknown))) if unknown else {}
        for interaction_id, interaction in fresh:
            self._vote(interaction, interaction_id, keys)
            self.through = interaction_id

    def take_sealed(self, block: Block) -> bool:
        """Another miner's next block, taken on without replaying the chain when it seals
        exactly the pending changes up to its ``through``: both miners derive their votes
        from the same log in id order, so an honest block of the same height is the same
        changes. False when it is not (an edit, a repair, a log this state has not read up
        to): then only a replay of the chain is right. Its header is checked as the replay
        checks it; the changes need no check of their own, being this state's own votes."""
        if block.through > self.through or self.fault is not None:
            return False
        if header_fault(block, self.height, self.tip) is not None:
            return False
        if self.history.difficulty_at(self.height) != block.difficulty:
            return False
        sealed = 0
        while sealed < len(self.pending) and self.pending[sealed][4] <= block.through:
            sealed += 1
        if block.changes != encode_changes(self.pending[:sealed]):
            return False
        del self.pending[:sealed]
        self.tip, self.height = block, self.height + 1
        return True

    def continues(self, committed: Sequence[tuple[int, Interaction]]) -> bool:
        """Whether the ids after the watermark follow it without a gap (a gap may hide an
        interaction another process committed, so it is read from the store instead)."""
        expected = self.through + 1
        for interaction_id, _ in committed:
            if interaction_id < expected:
                continue
            if interaction_id != expected:
                return False
            expected += 1
        return True

    def _vote(self, interaction: Interaction, interaction_id: int, keys: dict[int, str]) -> None:
        row = self._row_for_track(interaction.track_id, keys)
        vote = vote_of(interaction)
        mine = self.votes.setdefault(interaction.user_id, {})
        previous = mine.get(row)
        if previous == vote:
            return  # the same listener again in the same direction: no ballot stuffing
        verifications, reports = moved(
            int(self.index.verifications[row]), int(self.index.reports[row]), previous, vote
        )
        mine[row] = vote
        at_us = round(interaction.created_at * 1_000_000)
        self.index.set(row, verifications, reports, at_us)
        key = self.index.key_of(row)
        self.pending.append(
            (key, verifications, reports, at_us, interaction_id, interaction.user_id, vote)
        )
