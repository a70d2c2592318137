"""Signed membership records and reachability receipts, and the LWW sets that merge them.

Every record is signed and carries the public key that signed it, so a record relayed by
any peer can be checked by anyone: the signature, and that the signer's NodeID is the
blake3 of that key. A set keeps only records that pass, so merging two sets never needs
to check again.

Merges are last-writer-wins per record key, by a total order over records (see
``MemberRecord.rank``): the merged state is the maximum per key, which makes ``merge``
commutative, associative and idempotent — any delivery order of the same records gives
the same state, the property gossip needs to converge.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, cast

from qfzz.errors import InvalidInput
from qfzz.network._identity import (
    NODE_ID_HEX,
    PUBLIC_KEY_BYTES,
    SCHEMA_VERSION,
    SIGNATURE_BYTES,
    NodeIdentity,
    membership_key,
    node_id_of,
    receipt_key,
    verify_signature,
)

DHT_MIN_RECEIPTS = 5
DHT_MIN_REACHABILITY = 0.6
DHT_MEMBERSHIP_TTL = 600.0

MAX_HOST_CHARS = 253
MAX_CAPABILITIES = 16
MAX_CAPABILITY_CHARS = 32
MAX_METRICS = 32
MAX_METRIC_NAME_CHARS = 64
MAX_ASN_CHARS = 32
MAX_COUNTER = 2**53  # exact in every JSON implementation

Privacy = Literal["public", "private"]
MemberState = Literal["alive", "suspect", "dead", "left"]
PRIVACIES: tuple[Privacy, ...] = ("public", "private")
MEMBER_STATES: tuple[MemberState, ...] = ("alive", "suspect", "dead", "left")
SELF_REPORTED: frozenset[str] = frozenset({"alive", "left"})


class MalformedRecord(InvalidInput):
    """A record's JSON has the wrong shape, type or size. ``reason`` names the kind."""

    code = "malformed_record"

    def __init__(self, detail: str, reason: str = "malformed") -> None:
        super().__init__(detail)
        self.reason = reason


class InvalidRecord(InvalidInput):
    """A well-formed record whose signature or node id does not check out."""

    code = "invalid_record"

    def __init__(self, detail: str, reason: str = "bad_signature") -> None:
        super().__init__(detail)
        self.reason = reason


def canonical(obj: object) -> bytes:
    """The bytes that are signed: sorted-key compact ASCII JSON, no NaN.

    Signing the canonical form of the parsed value (not the bytes received) means two
    encoders that differ only in whitespace or key order agree.
    """
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("ascii")


def _signed_message(kind: str, payload: Mapping[str, object]) -> bytes:
    """A domain-separated message: a receipt's signature never verifies as a record's."""
    return f"qfzz/{SCHEMA_VERSION}/{kind}\n".encode("ascii") + canonical(payload)


# -- field readers: every wire value is checked for type and size before it is used ---------


def _obj(value: object, what: str) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise MalformedRecord(f"{what} must be a JSON object")
    return cast(Mapping[str, object], value)


def _field(obj: Mapping[str, object], name: str, what: str) -> object:
    if name not in obj:
        raise MalformedRecord(f"{what} lacks {name!r}")
    return obj[name]


def _str(value: object, what: str, max_chars: int) -> str:
    if not isinstance(value, str):
        raise MalformedRecord(f"{what} must be a string")
    if len(value) > max_chars:
        raise MalformedRecord(f"{what} is longer than {max_chars} characters", "string_too_long")
    return value


def _hex(value: object, what: str, n_bytes: int) -> bytes:
    text = _str(value, what, 2 * n_bytes)
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise MalformedRecord(f"{what} must be hex") from None
    if len(raw) != n_bytes:
        raise MalformedRecord(f"{what} must be {n_bytes} bytes")
    return raw


def _node_id(value: object, what: str) -> str:
    text = _str(value, what, NODE_ID_HEX)
    if len(text) != NODE_ID_HEX or any(c not in "0123456789abcdef" for c in text):
        raise MalformedRecord(f"{what} must be {NODE_ID_HEX} lowercase hex digits")
    return text


def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedRecord(f"{what} must be a number")
    number = float(value)
    if not math.isfinite(number) or abs(number) > MAX_COUNTER:
        raise MalformedRecord(f"{what} must be a finite number of sensible size")
    return number


def _count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedRecord(f"{what} must be an integer")
    if not 0 <= value <= MAX_COUNTER:
        raise MalformedRecord(f"{what} is out of range")
    return value


def _list(value: object, what: str, max_items: int) -> list[object]:
    if not isinstance(value, list):
        raise MalformedRecord(f"{what} must be a list")
    if len(value) > max_items:
        raise MalformedRecord(f"{what} holds more than {max_items} items", "too_many_items")
    return value


# -- NodeInfo --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeInfo:
    """What a node says about itself; only ever trusted inside a record it signed."""

    node_id: str
    public_key: bytes
    public_host: str
    capabilities: tuple[str, ...] = ()
    privacy: Privacy = "public"
    asn: str | None = None
    metrics: tuple[tuple[str, float], ...] = ()

    @classmethod
    def of(
        cls,
        identity: NodeIdentity,
        public_host: str,
        *,
        capabilities: Iterable[str] = (),
        privacy: Privacy = "public",
        asn: str | None = None,
        metrics: Mapping[str, float] | None = None,
    ) -> NodeInfo:
        """The info of this node (validated by a round trip, so it is also sendable)."""
        info = cls(
            node_id=identity.node_id,
            public_key=identity.public_key,
            public_host=public_host,
            capabilities=tuple(sorted(set(capabilities))),
            privacy=privacy,
            asn=asn,
            metrics=tuple(sorted((k, float(v)) for k, v in (metrics or {}).items())),
        )
        return cls.from_json(info.to_json())

    def to_json(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "public_key": self.public_key.hex(),
            "public_host": self.public_host,
            "capabilities": list(self.capabilities),
            "privacy": self.privacy,
            "asn": self.asn,
            "metrics": dict(self.metrics),
        }

    @classmethod
    def from_json(cls, value: object) -> NodeInfo:
        """Parse and bound a node info; raises ``MalformedRecord`` (checks no signature)."""
        obj = _obj(value, "node")
        capabilities = tuple(
            _str(c, "a capability", MAX_CAPABILITY_CHARS)
            for c in _list(_field(obj, "capabilities", "node"), "capabilities", MAX_CAPABILITIES)
        )
        privacy = _field(obj, "privacy", "node")
        if privacy not in PRIVACIES:
            raise MalformedRecord("privacy must be 'public' or 'private'")
        asn_value = _field(obj, "asn", "node")
        asn = None if asn_value is None else _str(asn_value, "asn", MAX_ASN_CHARS)
        metrics_obj = _obj(_field(obj, "metrics", "node"), "metrics")
        if len(metrics_obj) > MAX_METRICS:
            raise MalformedRecord(f"metrics hold more than {MAX_METRICS} items", "too_many_items")
        metrics = tuple(
            sorted(
                (_str(k, "a metric name", MAX_METRIC_NAME_CHARS), _number(v, f"metric {k!r}"))
                for k, v in metrics_obj.items()
            )
        )
        return cls(
            node_id=_node_id(_field(obj, "node_id", "node"), "node_id"),
            public_key=_hex(_field(obj, "public_key", "node"), "public_key", PUBLIC_KEY_BYTES),
            public_host=_str(_field(obj, "public_host", "node"), "public_host", MAX_HOST_CHARS),
            capabilities=capabilities,
            privacy=privacy,
            asn=asn,
            metrics=metrics,
        )


# -- MemberRecord ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberRecord:
    """One node's membership state, signed.

    ``alive`` and ``left`` are signed by the node itself (only it may say it is here or
    leaving); ``suspect`` and ``dead`` by the ``reporter`` that saw it fail, whose key is
    carried so the record verifies anywhere.
    """

    info: NodeInfo
    state: MemberState
    incarnation: int
    logical_counter: int
    timestamp: float
    reporter: str
    reporter_key: bytes
    signature: bytes = b""

    @property
    def node_id(self) -> str:
        return self.info.node_id

    @property
    def key(self) -> str:
        return membership_key(self.info.node_id)

    @classmethod
    def signed(
        cls,
        signer: NodeIdentity,
        info: NodeInfo,
        state: MemberState,
        *,
        incarnation: int,
        logical_counter: int,
        timestamp: float,
    ) -> MemberRecord:
        """A record about ``info``'s node, signed by ``signer`` (itself, or a reporter)."""
        unsigned = cls(
            info=info,
            state=state,
            incarnation=incarnation,
            logical_counter=logical_counter,
            timestamp=float(timestamp),
            reporter=signer.node_id,
            reporter_key=signer.public_key,
        )
        return replace(unsigned, signature=signer.sign(unsigned.message()))

    def _payload(self) -> dict[str, Any]:
        return {
            "info": self.info.to_json(),
            "state": self.state,
            "incarnation": self.incarnation,
            "logical_counter": self.logical_counter,
            "timestamp": self.timestamp,
            "reporter": self.reporter,
            "reporter_key": self.reporter_key.hex(),
        }

    def message(self) -> bytes:
        return _signed_message("membership", self._payload())

    def to_json(self) -> dict[str, Any]:
        return {**self._payload(), "signature": self.signature.hex()}

    @classmethod
    def from_json(cls, value: object) -> MemberRecord:
        """Parse and bound a record; raises ``MalformedRecord`` (``verify`` checks it)."""
        obj = _obj(value, "member record")
        state = _field(obj, "state", "member record")
        if state not in MEMBER_STATES:
            raise MalformedRecord(f"state must be one of {', '.join(MEMBER_STATES)}")
        return cls(
            info=NodeInfo.from_json(_field(obj, "info", "member record")),
            state=state,
            incarnation=_count(_field(obj, "incarnation", "member record"), "incarnation"),
            logical_counter=_count(
                _field(obj, "logical_counter", "member record"), "logical_counter"
            ),
            timestamp=_number(_field(obj, "timestamp", "member record"), "timestamp"),
            reporter=_node_id(_field(obj, "reporter", "member record"), "reporter"),
            reporter_key=_hex(
                _field(obj, "reporter_key", "member record"), "reporter_key", PUBLIC_KEY_BYTES
            ),
            signature=_hex(_field(obj, "signature", "member record"), "signature", SIGNATURE_BYTES),
        )

    def verify(self) -> None:
        """Raise ``InvalidRecord`` unless ids match keys and the signer signed it."""
        if node_id_of(self.info.public_key) != self.info.node_id:
            raise InvalidRecord("node_id is not the blake3 of its public key", "node_id_mismatch")
        if node_id_of(self.reporter_key) != self.reporter:
            raise InvalidRecord("reporter is not the blake3 of its key", "node_id_mismatch")
        if self.state in SELF_REPORTED and self.reporter != self.info.node_id:
            raise InvalidRecord(
                f"only the node itself may say it is {self.state}", "wrong_reporter"
            )
        if not verify_signature(self.reporter_key, self.message(), self.signature):
            raise InvalidRecord("membership signature does not verify", "bad_signature")

    def rank(self) -> tuple[int, float, str, bytes]:
        """LWW dominance: (logical_counter, timestamp, signer's node id), then the signed
        bytes, so two different records never tie and every replica picks the same one."""
        return (self.logical_counter, self.timestamp, self.reporter, self.message())


# -- ReachabilityReceipt ---------------------------------------------------------------------


@dataclass(frozen=True)
class ReachabilityReceipt:
    """``issuer`` says it reached (or failed to reach) ``target`` at ``timestamp``.

    Receipts are how a node proves it is reachable from outside its own island: k fresh
    receipts from other nodes, most of them positive.
    """

    issuer: str
    issuer_key: bytes
    target: str
    asn: str | None
    timestamp: float
    reachable: bool = True
    signature: bytes = b""

    @property
    def key(self) -> str:
        return receipt_key(self.issuer, self.target)

    @classmethod
    def signed(
        cls,
        issuer: NodeIdentity,
        target: str,
        *,
        asn: str | None,
        timestamp: float,
        reachable: bool = True,
    ) -> ReachabilityReceipt:
        unsigned = cls(
            issuer=issuer.node_id,
            issuer_key=issuer.public_key,
            target=target,
            asn=asn,
            timestamp=float(timestamp),
            reachable=reachable,
        )
        return replace(unsigned, signature=issuer.sign(unsigned.message()))

    def _payload(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "issuer_key": self.issuer_key.hex(),
            "target": self.target,
            "asn": self.asn,
            "timestamp": self.timestamp,
            "reachable": self.reachable,
        }

    def message(self) -> bytes:
        return _signed_message("receipt", self._payload())

    def to_json(self) -> dict[str, Any]:
        return {**self._payload(), "signature": self.signature.hex()}

    @classmethod
    def from_json(cls, value: object) -> ReachabilityReceipt:
        obj = _obj(value, "receipt")
        asn_value = _field(obj, "asn", "receipt")
        reachable = _field(obj, "reachable", "receipt")
        if not isinstance(reachable, bool):
            raise MalformedRecord("reachable must be true or false")
        return cls(
            issuer=_node_id(_field(obj, "issuer", "receipt"), "issuer"),
            issuer_key=_hex(_field(obj, "issuer_key", "receipt"), "issuer_key", PUBLIC_KEY_BYTES),
            target=_node_id(_field(obj, "target", "receipt"), "target"),
            asn=None if asn_value is None else _str(asn_value, "asn", MAX_ASN_CHARS),
            timestamp=_number(_field(obj, "timestamp", "receipt"), "timestamp"),
            reachable=reachable,
            signature=_hex(_field(obj, "signature", "receipt"), "signature", SIGNATURE_BYTES),
        )

    def verify(self) -> None:
        """Raise ``InvalidRecord`` unless the issuer's id matches its key and it signed this."""
        if node_id_of(self.issuer_key) != self.issuer:
            raise InvalidRecord("issuer is not the blake3 of its key", "node_id_mismatch")
        if self.issuer == self.target:
            raise InvalidRecord("a node cannot vouch for itself", "self_receipt")
        if not verify_signature(self.issuer_key, self.message(), self.signature):
            raise InvalidRecord("receipt signature does not verify", "bad_signature")

    def rank(self) -> tuple[float, bytes]:
        """LWW per (issuer, target): the newer receipt wins; the signed bytes break ties."""
        return (self.timestamp, self.message())


# -- the LWW sets ----------------------------------------------------------------------------


@dataclass
class MemberSet:
    """LWW set of membership records, one per node, holding only verified records.

    ``conflicts`` counts merges that met two different records for one node (the
    ``dht_merge_conflicts_total`` counter); it is bookkeeping, not state, and takes no
    part in equality.
    """

    _records: dict[str, MemberRecord] = field(default_factory=dict)
    conflicts: int = field(default=0, compare=False)

    def apply(self, record: MemberRecord) -> bool:
        """Verify and merge one record; True if it changed the state.

        Raises ``InvalidRecord`` for a record that does not verify (nothing is stored).
        """
        record.verify()
        return self._put(record)

    def apply_all(self, records: Iterable[MemberRecord]) -> int:
        """Merge the records that verify, drop the rest; returns how many were dropped."""
        dropped = 0
        for record in records:
            try:
                self.apply(record)
            except InvalidRecord:
                dropped += 1
        return dropped

    def merge(self, other: MemberSet) -> None:
        """Merge another set (whose records were verified when they entered it)."""
        for record in other._records.values():
            self._put(record)

    def _put(self, record: MemberRecord) -> bool:
        current = self._records.get(record.key)
        if current is not None and current != record:
            self.conflicts += 1
        if current is None or record.rank() > current.rank():
            self._records[record.key] = record
            return True
        return False

    def get(self, node_id: str) -> MemberRecord | None:
        return self._records.get(membership_key(node_id))

    def __iter__(self) -> Iterator[MemberRecord]:
        return iter(sorted(self._records.values(), key=lambda r: r.node_id))

    def __len__(self) -> int:
        return len(self._records)

    def snapshot(self) -> dict[str, MemberRecord]:
        """A copy of the state, key → record (for comparisons and persistence)."""
        return dict(self._records)

    def known_public_nodes(
        self, *, reachable: Callable[[str], bool] | None = None
    ) -> list[MemberRecord]:
        """Alive public members, optionally only the sufficiently reachable ones.

        Private nodes are members (they join, probe and are probed) but are never listed
        here, so no peer advertises them.
        """
        return [
            r
            for r in self
            if r.state == "alive"
            and r.info.privacy == "public"
            and (reachable is None or reachable(r.node_id))
        ]


@dataclass
class ReceiptSet:
    """LWW set of reachability receipts, one per (issuer, target), only verified ones.

    Expiry is a read-time filter against an injected ``now`` (and ``prune`` to free
    memory), so merging stays order-independent: whether a receipt counts depends on the
    clock, not on when it arrived.
    """

    ttl: float = DHT_MEMBERSHIP_TTL
    _receipts: dict[str, ReachabilityReceipt] = field(default_factory=dict)

    def apply(self, receipt: ReachabilityReceipt) -> bool:
        """Verify and merge one receipt; raises ``InvalidRecord`` (nothing stored)."""
        receipt.verify()
        return self._put(receipt)

    def merge(self, other: ReceiptSet) -> None:
        for receipt in other._receipts.values():
            self._put(receipt)

    def _put(self, receipt: ReachabilityReceipt) -> bool:
        current = self._receipts.get(receipt.key)
        if current is None or receipt.rank() > current.rank():
            self._receipts[receipt.key] = receipt
            return True
        return False

    def prune(self, now: float) -> int:
        """Drop receipts older than the TTL; returns how many went."""
        old = [k for k, r in self._receipts.items() if now - r.timestamp > self.ttl]
        for k in old:
            del self._receipts[k]
        return len(old)

    def snapshot(self) -> dict[str, ReachabilityReceipt]:
        return dict(self._receipts)

    def __len__(self) -> int:
        return len(self._receipts)

    def fresh_for(self, target: str, now: float) -> list[ReachabilityReceipt]:
        """The receipts about ``target`` that are neither expired nor from the future."""
        return sorted(
            (
                r
                for r in self._receipts.values()
                if r.target == target and 0.0 <= now - r.timestamp <= self.ttl
            ),
            key=lambda r: r.issuer,
        )

    def reachability_ratio(self, target: str, now: float) -> float:
        """Share of fresh receipts about ``target`` that say it was reached (0 if none)."""
        fresh = self.fresh_for(target, now)
        if not fresh:
            return 0.0
        return sum(r.reachable for r in fresh) / len(fresh)

    def sufficiently_reachable(
        self,
        target: str,
        now: float,
        *,
        min_receipts: int = DHT_MIN_RECEIPTS,
        min_ratio: float = DHT_MIN_REACHABILITY,
    ) -> bool:
        """Island filtering: at least ``k`` fresh receipts from distinct issuers and a
        reachability ratio of at least ``q``; a node only its own island vouches for,
        or that most peers fail to reach, is not advertised and its reports do not count."""
        fresh = self.fresh_for(target, now)
        if len(fresh) < min_receipts:
            return False
        return sum(r.reachable for r in fresh) / len(fresh) >= min_ratio
