"""Replica leases and the signed meta record that lists them, ``MetaKey(content_id)``.

A content's leader hands out one lease per replica *slot*. Each lease carries an epoch, a
fencing token: the leader's record has an epoch at least as high as every lease in it,
reassigning a slot issues the new lease at ``epoch + 1``, and a new leader starts above
every epoch it has seen. Epochs only grow, so "is there a higher epoch for my slot?" is
something any holder can answer from the newest record it has, without a clock.

That closes the gap the design left open: a lease lives 600 s but a silent holder is
replaced after 180 s; without fencing both would serve for up to 420 s. With it, the old
holder stops as soon as it sees the record that reassigned its slot (``holder_may_serve``
in ``qfzz.network._fencing``), whatever its TTL says.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from qfzz.network._identity import (
    PUBLIC_KEY_BYTES,
    SCHEMA_VERSION,
    SIGNATURE_BYTES,
    NodeIdentity,
    node_id_of,
    verify_signature,
)
from qfzz.network._records import (
    InvalidRecord,
    MalformedRecord,
    _count,
    _field,
    _hex,
    _list,
    _node_id,
    _number,
    _obj,
    _signed_message,
)

DHT_LEASE_TTL = 600.0
DHT_HEARTBEAT_INTERVAL = 60.0
DHT_HEARTBEAT_MISS_THRESHOLD = 3
MAX_LEASE_TTL = 3600.0  # a wire bound: a lease for a year would defeat reassignment
MAX_REPLICAS = 16
MAX_CONFLICTS = 16  # the conflict log keeps the last K entries

ConflictKind = Literal["two_leaders", "equivocation"]
CONFLICT_KINDS: tuple[ConflictKind, ...] = ("two_leaders", "equivocation")


def meta_key(content_id: str) -> str:
    """``MetaKey(content_id)``: the record key of a content's leases, versioned."""
    return f"{SCHEMA_VERSION}/meta/{content_id}"


@dataclass(frozen=True, order=True)
class Lease:
    """``holder`` keeps a replica of ``content_id`` in ``slot`` until ``expires_at``.

    ``granted_at`` is the last grant or renewal (a renewal is the leader's answer to a
    heartbeat, so it doubles as the holder's last known heartbeat).
    """

    content_id: str
    slot: int
    holder: str
    epoch: int
    granted_at: float
    expires_at: float
    leader: str

    def to_json(self) -> dict[str, Any]:
        return {
            "content_id": self.content_id,
            "slot": self.slot,
            "holder": self.holder,
            "epoch": self.epoch,
            "granted_at": self.granted_at,
            "expires_at": self.expires_at,
            "leader": self.leader,
        }

    @classmethod
    def from_json(cls, value: object) -> Lease:
        obj = _obj(value, "lease")
        slot = _count(_field(obj, "slot", "lease"), "slot")
        if slot >= MAX_REPLICAS:
            raise MalformedRecord(f"slot must be below {MAX_REPLICAS}")
        granted_at = _number(_field(obj, "granted_at", "lease"), "granted_at")
        expires_at = _number(_field(obj, "expires_at", "lease"), "expires_at")
        if not 0.0 < expires_at - granted_at <= MAX_LEASE_TTL:
            raise MalformedRecord(f"a lease must last (0, {MAX_LEASE_TTL}] s", "bad_lease_ttl")
        return cls(
            content_id=_node_id(_field(obj, "content_id", "lease"), "content_id"),
            slot=slot,
            holder=_node_id(_field(obj, "holder", "lease"), "holder"),
            epoch=_count(_field(obj, "epoch", "lease"), "epoch"),
            granted_at=granted_at,
            expires_at=expires_at,
            leader=_node_id(_field(obj, "leader", "lease"), "leader"),
        )


@dataclass(frozen=True, order=True)
class ConflictEntry:
    """Two signed meta records that should not both exist, named by their digests.

    ``two_leaders``: different leaders claimed the same epoch (a split brain); the higher
    rank won, the entry keeps the evidence. ``equivocation``: one leader signed two
    different records at the same (epoch, revision). Field order is the sort order, so the
    log's "last K" is the K highest epochs, the same everywhere.
    """

    epoch: int
    kind: ConflictKind
    digest_a: str
    digest_b: str
    signer_a: str
    signer_b: str

    def to_json(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "kind": self.kind,
            "digests": [self.digest_a, self.digest_b],
            "signers": [self.signer_a, self.signer_b],
        }

    @classmethod
    def from_json(cls, value: object) -> ConflictEntry:
        obj = _obj(value, "conflict")
        kind = _field(obj, "kind", "conflict")
        if kind not in CONFLICT_KINDS:
            raise MalformedRecord(f"conflict kind must be one of {', '.join(CONFLICT_KINDS)}")
        digests = [
            _node_id(d, "a digest") for d in _list(_field(obj, "digests", "conflict"), "digests", 2)
        ]
        signers = [
            _node_id(s, "a signer") for s in _list(_field(obj, "signers", "conflict"), "signers", 2)
        ]
        if len(digests) != 2 or len(signers) != 2 or not digests[0] < digests[1]:
            raise MalformedRecord("a conflict names two distinct records in digest order")
        return cls(
            epoch=_count(_field(obj, "epoch", "conflict"), "epoch"),
            kind=kind,
            digest_a=digests[0],
            digest_b=digests[1],
            signer_a=signers[0],
            signer_b=signers[1],
        )


@dataclass(frozen=True)
class MetaRecord:
    """The leases of one content, signed by its leader.

    ``epoch`` is the fencing epoch (≥ every lease's), ``revision`` counts the leader's
    edits, ``logical_counter`` is a Lamport clock; ``rank`` orders records by epoch, then
    revision, then LWW dominance ``(logical_counter, timestamp, leader)``.
    """

    content_id: str
    leader: str
    leader_key: bytes
    epoch: int
    revision: int
    logical_counter: int
    timestamp: float
    leases: tuple[Lease, ...]
    conflict_log: tuple[ConflictEntry, ...] = ()
    signature: bytes = b""

    @classmethod
    def signed(
        cls,
        leader: NodeIdentity,
        content_id: str,
        *,
        epoch: int,
        revision: int,
        logical_counter: int,
        timestamp: float,
        leases: tuple[Lease, ...],
        conflict_log: tuple[ConflictEntry, ...] = (),
    ) -> MetaRecord:
        """A record signed by ``leader``; leases sorted by slot, log cut to the last K."""
        unsigned = cls(
            content_id=content_id,
            leader=leader.node_id,
            leader_key=leader.public_key,
            epoch=epoch,
            revision=revision,
            logical_counter=logical_counter,
            timestamp=float(timestamp),
            leases=tuple(sorted(leases, key=lambda lease: lease.slot)),
            conflict_log=tuple(sorted(set(conflict_log)))[-MAX_CONFLICTS:],
        )
        record = replace(unsigned, signature=leader.sign(unsigned.message()))
        record.verify()
        return record

    @property
    def key(self) -> str:
        return meta_key(self.content_id)

    def lease_at(self, slot: int) -> Lease | None:
        return next((lease for lease in self.leases if lease.slot == slot), None)

    def lease_of(self, holder: str) -> Lease | None:
        return next((lease for lease in self.leases if lease.holder == holder), None)

    def _payload(self) -> dict[str, Any]:
        return {
            "content_id": self.content_id,
            "leader": self.leader,
            "leader_key": self.leader_key.hex(),
            "epoch": self.epoch,
            "revision": self.revision,
            "logical_counter": self.logical_counter,
            "timestamp": self.timestamp,
            "leases": [lease.to_json() for lease in self.leases],
            "conflict_log": [entry.to_json() for entry in self.conflict_log],
        }

    def message(self) -> bytes:
        return _signed_message("meta", self._payload())

    def to_json(self) -> dict[str, Any]:
        return {**self._payload(), "signature": self.signature.hex()}

    @classmethod
    def from_json(cls, value: object) -> MetaRecord:
        """Parse and bound a record; raises ``MalformedRecord`` (``verify`` checks it)."""
        what = "meta record"
        obj = _obj(value, what)
        leases = _list(_field(obj, "leases", what), "leases", MAX_REPLICAS)
        log = _list(_field(obj, "conflict_log", what), "conflict_log", MAX_CONFLICTS)
        return cls(
            content_id=_node_id(_field(obj, "content_id", what), "content_id"),
            leader=_node_id(_field(obj, "leader", what), "leader"),
            leader_key=_hex(_field(obj, "leader_key", what), "leader_key", PUBLIC_KEY_BYTES),
            epoch=_count(_field(obj, "epoch", what), "epoch"),
            revision=_count(_field(obj, "revision", what), "revision"),
            logical_counter=_count(_field(obj, "logical_counter", what), "logical_counter"),
            timestamp=_number(_field(obj, "timestamp", what), "timestamp"),
            leases=tuple(Lease.from_json(lease) for lease in leases),
            conflict_log=tuple(ConflictEntry.from_json(entry) for entry in log),
            signature=_hex(_field(obj, "signature", what), "signature", SIGNATURE_BYTES),
        )

    def verify(self) -> None:
        """Raise ``InvalidRecord`` unless the leader signed a self-consistent record."""
        if node_id_of(self.leader_key) != self.leader:
            raise InvalidRecord("leader is not the blake3 of its key", "node_id_mismatch")
        slots = [lease.slot for lease in self.leases]
        holders = {lease.holder for lease in self.leases}
        if slots != sorted(set(slots)) or len(holders) != len(self.leases):
            raise InvalidRecord(
                "leases need distinct slots in order and distinct holders", "bad_leases"
            )
        for lease in self.leases:
            if lease.content_id != self.content_id:
                raise InvalidRecord("a lease names another content", "wrong_content")
            if lease.epoch > self.epoch:
                raise InvalidRecord("a lease's epoch is above the record's", "bad_epoch")
        if list(self.conflict_log) != sorted(set(self.conflict_log)):
            raise InvalidRecord("the conflict log must be sorted and without repeats", "bad_log")
        if not verify_signature(self.leader_key, self.message(), self.signature):
            raise InvalidRecord("meta signature does not verify", "bad_signature")

    def rank(self) -> tuple[int, int, int, float, str, bytes]:
        """Higher epoch, then revision, then ``(logical_counter, timestamp, leader)``; the
        signed bytes last, so two different records never tie."""
        return (
            self.epoch,
            self.revision,
            self.logical_counter,
            self.timestamp,
            self.leader,
            self.message(),
        )
