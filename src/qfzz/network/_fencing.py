"""Merging meta records, fencing holders, and the leader's lease operations.

``MetaRegister`` is what every node keeps for one ``MetaKey``: the winning record (highest
``MetaRecord.rank``), a bounded set of *claims* (a digest and the rank of each record it
verified, the K highest) and the conflict entries leaders logged (the K highest). Each part
is a join-semilattice — a maximum, or "the K largest of the union" — so ``merge`` is
commutative, associative and idempotent. Conflicts are *derived* from the claims on read
rather than detected on arrival, because detection on arrival depends on which record
happened to be stored when the other came: two nodes that saw the same records in another
order would log different things.

Time is always a parameter (``now``); nothing here reads a clock.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

import blake3

from qfzz.network._identity import NodeIdentity
from qfzz.network._leases import (
    DHT_HEARTBEAT_INTERVAL,
    DHT_HEARTBEAT_MISS_THRESHOLD,
    DHT_LEASE_TTL,
    MAX_CONFLICTS,
    MAX_REPLICAS,
    ConflictEntry,
    Lease,
    MetaRecord,
)
from qfzz.network._records import InvalidRecord

MAX_CLAIMS = 32


@dataclass(frozen=True, order=True)
class _Claim:
    """One verified record, reduced to what conflict detection needs."""

    epoch: int
    revision: int
    leader: str
    digest: str

    @classmethod
    def of(cls, record: MetaRecord) -> _Claim:
        digest = blake3.blake3(record.message()).hexdigest()
        return cls(record.epoch, record.revision, record.leader, digest)


_T = TypeVar("_T", _Claim, ConflictEntry)


def _top(items: Iterable[_T], k: int) -> frozenset[_T]:
    """The ``k`` largest items: top-k of a union is a semilattice join."""
    return frozenset(sorted(set(items))[-k:])


def _derived(claims: frozenset[_Claim]) -> Iterable[ConflictEntry]:
    for a, b in itertools.combinations(sorted(claims, key=lambda c: c.digest), 2):
        if a.epoch != b.epoch:
            continue
        if a.leader != b.leader:
            yield ConflictEntry(a.epoch, "two_leaders", a.digest, b.digest, a.leader, b.leader)
        elif a.revision == b.revision:
            yield ConflictEntry(a.epoch, "equivocation", a.digest, b.digest, a.leader, b.leader)


@dataclass
class MetaRegister:
    """The merged state of one content's meta records (only verified records enter)."""

    content_id: str
    _winner: MetaRecord | None = None
    _claims: frozenset[_Claim] = field(default_factory=frozenset)
    _logged: frozenset[ConflictEntry] = field(default_factory=frozenset)

    def apply(self, record: MetaRecord, *, may_lead: Callable[[str], bool] | None = None) -> bool:
        """Verify and merge one record; raises ``InvalidRecord`` (nothing stored).

        ``may_lead`` is the caller's rule for who may lead this content (say, the nodes
        closest to its id among live members): without one, any validly signed node can
        out-rank the leader by claiming a higher epoch. Returns True if it became the winner.
        """
        if record.content_id != self.content_id:
            raise InvalidRecord("meta record for another content", "wrong_content")
        if may_lead is not None and not may_lead(record.leader):
            raise InvalidRecord("the signer may not lead this content", "not_leader")
        record.verify()
        return self._put(record)

    def merge(self, other: MetaRegister) -> None:
        """Join another register's state (its records were verified when they entered it)."""
        if other.content_id != self.content_id:
            raise InvalidRecord("meta register for another content", "wrong_content")
        if other._winner is not None:
            self._put(other._winner)
        self._claims = _top(self._claims | other._claims, MAX_CLAIMS)
        self._logged = _top(self._logged | other._logged, MAX_CONFLICTS)

    def _put(self, record: MetaRecord) -> bool:
        self._claims = _top(self._claims | {_Claim.of(record)}, MAX_CLAIMS)
        self._logged = _top(self._logged | set(record.conflict_log), MAX_CONFLICTS)
        if self._winner is None or record.rank() > self._winner.rank():
            self._winner = record
            return True
        return False

    @property
    def record(self) -> MetaRecord | None:
        """The winning record: the highest epoch, then revision, then LWW dominance."""
        return self._winner

    def conflicts(self) -> tuple[ConflictEntry, ...]:
        """The last K conflicts, logged by leaders or seen among the claims, in order."""
        return tuple(sorted(_top(self._logged | set(_derived(self._claims)), MAX_CONFLICTS)))

    def snapshot(self) -> tuple[MetaRecord | None, frozenset[object], tuple[ConflictEntry, ...]]:
        """The whole state, for comparisons (equal snapshots: equal registers)."""
        return (self._winner, frozenset(self._claims), self.conflicts())


# -- fencing ---------------------------------------------------------------------------------


def holder_may_serve(lease: Lease, meta: MetaRecord, now: float) -> bool:
    """May the holder of ``lease`` still serve, given the newest record it knows?

    No once the lease has expired, or once ``meta`` is at least as new as the lease
    (``meta.epoch >= lease.epoch``) and no longer lists this exact (slot, holder, epoch):
    the slot was reassigned to a higher epoch, vacated, or given to someone else by a
    rival leader. A renewal in ``meta`` (same slot, holder and epoch) extends the expiry.
    """
    if lease.content_id != meta.content_id:
        return False
    expires_at = lease.expires_at
    if meta.epoch >= lease.epoch:
        current = meta.lease_at(lease.slot)
        if current is None or (current.holder, current.epoch) != (lease.holder, lease.epoch):
            return False
        expires_at = max(expires_at, current.expires_at)
    return now < expires_at


def expired_holders(
    meta: MetaRecord,
    now: float,
    last_heartbeat: Mapping[str, float],
    *,
    interval: float = DHT_HEARTBEAT_INTERVAL,
    misses: int = DHT_HEARTBEAT_MISS_THRESHOLD,
) -> list[str]:
    """Holders silent for ``misses × interval`` seconds or more (180 s by default).

    A holder with no recorded heartbeat counts from its lease's last grant or renewal, so
    a leader that just took over does not reassign everyone at once.
    """
    limit = misses * interval
    return sorted(
        lease.holder
        for lease in meta.leases
        if now - last_heartbeat.get(lease.holder, lease.granted_at) >= limit
    )


# -- the leader's operations: each returns the next signed record ----------------------------


def _next(
    leader: NodeIdentity,
    meta: MetaRecord,
    now: float,
    *,
    leases: Iterable[Lease],
    epoch: int,
    conflicts: Iterable[ConflictEntry],
) -> MetaRecord:
    return MetaRecord.signed(
        leader,
        meta.content_id,
        epoch=epoch,
        revision=meta.revision + 1,
        logical_counter=meta.logical_counter + 1,
        timestamp=now,
        leases=tuple(leases),
        conflict_log=(*meta.conflict_log, *conflicts),
    )


def _check_leader(leader: NodeIdentity, meta: MetaRecord) -> None:
    if leader.node_id != meta.leader:
        raise InvalidRecord("only the content's leader may change its leases", "not_leader")


def take_over(
    leader: NodeIdentity,
    content_id: str,
    now: float,
    *,
    previous: MetaRecord | None = None,
    holders: Sequence[str] = (),
    conflicts: Iterable[ConflictEntry] = (),
    ttl: float = DHT_LEASE_TTL,
) -> MetaRecord:
    """Start (or take over) leading ``content_id`` at an epoch above any seen.

    ``previous`` is the winning record the new leader knows (None for new content). Its
    leases stay valid — a change of leader alone should not interrupt a healthy holder —
    and ``holders`` not yet holding get free slots at the new epoch.
    """
    if previous is not None and previous.content_id != content_id:
        raise InvalidRecord("the previous record is for another content", "wrong_content")
    base = previous or MetaRecord(content_id, leader.node_id, leader.public_key, 0, 0, 0, now, ())
    epoch = base.epoch + 1
    kept = list(base.leases)
    taken = {lease.slot for lease in kept}
    free = (slot for slot in range(MAX_REPLICAS) if slot not in taken)
    held = {lease.holder for lease in kept}
    for holder in dict.fromkeys(h for h in holders if h not in held):
        slot = next(free, None)
        if slot is None:
            break
        kept.append(Lease(content_id, slot, holder, epoch, now, now + ttl, leader.node_id))
    return _next(leader, base, now, leases=kept, epoch=epoch, conflicts=conflicts)


def renew(
    leader: NodeIdentity,
    meta: MetaRecord,
    holders: Iterable[str],
    now: float,
    *,
    conflicts: Iterable[ConflictEntry] = (),
    ttl: float = DHT_LEASE_TTL,
) -> MetaRecord:
    """Extend the leases of ``holders`` (those that heartbeated) to ``now + ttl``.

    The epoch stays: a renewal never fences the holder it renews. Holders without a lease
    are ignored — a node whose slot was reassigned gets no lease back by heartbeating.
    ``conflicts`` (from ``MetaRegister.conflicts``) are signed into the record's log.
    """
    _check_leader(leader, meta)
    alive = set(holders)
    leases = [
        replace(lease, granted_at=now, expires_at=now + ttl, leader=leader.node_id)
        if lease.holder in alive
        else lease
        for lease in meta.leases
    ]
    return _next(leader, meta, now, leases=leases, epoch=meta.epoch, conflicts=conflicts)


def reassign_dead(
    leader: NodeIdentity,
    meta: MetaRecord,
    dead: Iterable[str],
    candidates: Sequence[str],
    now: float,
    *,
    ttl: float = DHT_LEASE_TTL,
) -> MetaRecord:
    """Give the slots of ``dead`` holders to the first free ``candidates``, at epoch + 1.

    Call it as soon as membership declares a holder dead, or with ``expired_holders``
    after missed heartbeats. The new epoch fences the old holders at once, whatever
    their TTL says; a slot with no candidate left is vacated (and so fenced too). Returns
    ``meta`` unchanged when none of ``dead`` holds a lease.
    """
    _check_leader(leader, meta)
    gone = set(dead) & {lease.holder for lease in meta.leases}
    if not gone:
        return meta
    epoch = meta.epoch + 1
    busy = {lease.holder for lease in meta.leases} | gone
    spare = iter([c for c in dict.fromkeys(candidates) if c not in busy])
    leases: list[Lease] = []
    for lease in meta.leases:
        if lease.holder not in gone:
            leases.append(lease)
        elif (holder := next(spare, None)) is not None:
            leases.append(
                Lease(meta.content_id, lease.slot, holder, epoch, now, now + ttl, leader.node_id)
            )
    return _next(leader, meta, now, leases=leases, epoch=epoch, conflicts=())


def reassign(
    leader: NodeIdentity,
    meta: MetaRecord,
    dead_holder: str,
    new_holder: str,
    now: float,
    *,
    ttl: float = DHT_LEASE_TTL,
) -> MetaRecord:
    """Move ``dead_holder``'s slot to ``new_holder`` at epoch + 1 (see ``reassign_dead``)."""
    if meta.lease_of(dead_holder) is None:
        raise InvalidRecord("that node holds no lease on this content", "not_a_holder")
    if meta.lease_of(new_holder) is not None:
        raise InvalidRecord("the new holder already holds a slot", "already_holder")
    return reassign_dead(leader, meta, [dead_holder], [new_holder], now, ttl=ttl)
