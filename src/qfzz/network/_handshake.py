"""The signed ``POST /api/v1/network.handshake`` body and its answer, built and verified.

Verification goes from cheap to dear, and stores nothing until everything passed: size of
the raw bytes, JSON shape, list and string bounds, timestamp within the skew window, nonce
not seen within the window, then signatures and ids. Every rejection is a
``HandshakeRejected`` with a ``reason`` from ``REJECT_REASONS`` (the label of the
``handshakes_rejected{reason}`` counter), so an HTTP frontend answers 4xx with that reason.

Request::

    {"schema": "v1", "node": <MemberRecord: the sender, alive, self-signed>,
     "nonce": <32 hex>, "timestamp": <seconds>, "reachability_receipts": [<receipt>...],
     "hll": <hex of the sender's node-id sketch, or null>, "signature": <128 hex>}

Answer (bound to the request by its nonce, so an old answer cannot be replayed)::

    {"schema": "v1", "node": <MemberRecord>, "known_public_nodes": [<MemberRecord>...],
     "n_estimate": <int>, "hll": <hex or null>, "nonce": <the request's>,
     "timestamp": <seconds>, "signature": <128 hex>}

``node`` is a whole membership record rather than bare node info: it is what the receiver
upserts, and a self-signed record can be relayed onward and still verified.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from qfzz.errors import InvalidInput
from qfzz.network._identity import SCHEMA_VERSION, SIGNATURE_BYTES, NodeIdentity, verify_signature
from qfzz.network._records import (
    MAX_COUNTER,
    InvalidRecord,
    MalformedRecord,
    MemberRecord,
    MemberSet,
    ReachabilityReceipt,
    ReceiptSet,
    _field,
    _hex,
    _list,
    _number,
    _obj,
    _str,
    canonical,
)

MAX_HANDSHAKE_BYTES = 64 * 1024
MAX_ANSWER_BYTES = 256 * 1024
MAX_RECEIPTS = 32
MAX_KNOWN_NODES = 128
MAX_SKETCH_HEX = 2 * 8192
NONCE_BYTES = 16
HANDSHAKE_SKEW = 60.0
NONCE_CAPACITY = 100_000

RejectReason = Literal[
    "too_large",
    "malformed",
    "string_too_long",
    "too_many_items",
    "wrong_schema",
    "stale_timestamp",
    "future_timestamp",
    "replayed_nonce",
    "bad_signature",
    "node_id_mismatch",
    "not_alive",
    "forged_receipt",
    "wrong_nonce",
    "nonce_window_full",
    "unknown_sender",
]
_REQUEST_FIELDS = frozenset(
    {"schema", "node", "nonce", "timestamp", "reachability_receipts", "hll", "signature"}
)
REJECT_REASONS: tuple[str, ...] = RejectReason.__args__  # type: ignore[attr-defined]


class HandshakeRejected(InvalidInput):
    """A handshake (or answer) that was refused; nothing from it was stored."""

    code = "handshake_rejected"

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason: RejectReason = reason


class NonceWindow:
    """Nonces seen within the skew window: a replay inside the window is refused, and
    anything older is refused by its timestamp, so memory is bounded by time and, against
    a flood, by ``capacity`` (when full, new handshakes are refused rather than old nonces
    forgotten early, which would reopen the replay hole)."""

    def __init__(self, window: float = HANDSHAKE_SKEW, capacity: int = NONCE_CAPACITY) -> None:
        self.window = window
        self.capacity = capacity
        self._seen: OrderedDict[str, float] = OrderedDict()

    def _expire(self, now: float) -> None:
        # Ordered by the time each nonce was recorded; a nonce's timestamp is accepted up to
        # ``window`` either side of ``now``, so keep it for 2 × window after recording.
        while self._seen:
            nonce, recorded = next(iter(self._seen.items()))
            if now - recorded <= 2 * self.window:
                break
            del self._seen[nonce]

    def check(self, nonce: str, now: float) -> None:
        """Raise ``HandshakeRejected`` if ``nonce`` was seen, or the window is full."""
        self._expire(now)
        if nonce in self._seen:
            raise HandshakeRejected("replayed_nonce", "this nonce was already used")
        if len(self._seen) >= self.capacity:
            raise HandshakeRejected("nonce_window_full", "too many handshakes; retry later")

    def record(self, nonce: str, now: float) -> None:
        self._seen[nonce] = now

    def __len__(self) -> int:
        return len(self._seen)


@dataclass(frozen=True)
class Handshake:
    """A verified handshake request."""

    member: MemberRecord
    nonce: str
    timestamp: float
    receipts: tuple[ReachabilityReceipt, ...]
    sketch: bytes | None


@dataclass(frozen=True)
class HandshakeAnswer:
    """A verified answer."""

    member: MemberRecord
    known_public_nodes: tuple[MemberRecord, ...]
    n_estimate: int
    sketch: bytes | None
    nonce: str
    timestamp: float


def new_nonce() -> str:
    return os.urandom(NONCE_BYTES).hex()


def _message(kind: str, payload: Mapping[str, object]) -> bytes:
    return f"qfzz/{SCHEMA_VERSION}/{kind}\n".encode("ascii") + canonical(payload)


def _sign(identity: NodeIdentity, kind: str, payload: dict[str, Any]) -> bytes:
    body = {**payload, "signature": identity.sign(_message(kind, payload)).hex()}
    return json.dumps(body, separators=(",", ":"), allow_nan=False).encode("ascii")


def build_handshake(
    identity: NodeIdentity,
    member: MemberRecord,
    *,
    now: float,
    receipts: tuple[ReachabilityReceipt, ...] = (),
    sketch: bytes | None = None,
    nonce: str | None = None,
) -> bytes:
    """The request body: ``member`` is this node's own alive record.

    Every part is bounded (a record, ``MAX_RECEIPTS`` receipts, a sketch), so the largest
    body a node can build still fits ``MAX_HANDSHAKE_BYTES`` (a test builds it).
    """
    payload = {
        "schema": SCHEMA_VERSION,
        "node": member.to_json(),
        "nonce": nonce or new_nonce(),
        "timestamp": float(now),
        "reachability_receipts": [r.to_json() for r in receipts[:MAX_RECEIPTS]],
        "hll": None if sketch is None else sketch.hex(),
    }
    return _sign(identity, "network.handshake", payload)


def build_answer(
    identity: NodeIdentity,
    member: MemberRecord,
    request: Handshake,
    *,
    known_public_nodes: tuple[MemberRecord, ...],
    n_estimate: int,
    now: float,
    sketch: bytes | None = None,
) -> bytes:
    """The answer to ``request``, listing as many known nodes as fit in an answer the
    caller will accept (at most ``MAX_KNOWN_NODES``, halved until under
    ``MAX_ANSWER_BYTES``): the caller learns the rest from later handshakes."""
    listed = known_public_nodes[:MAX_KNOWN_NODES]
    while True:
        payload = {
            "schema": SCHEMA_VERSION,
            "node": member.to_json(),
            "known_public_nodes": [r.to_json() for r in listed],
            "n_estimate": int(n_estimate),
            "hll": None if sketch is None else sketch.hex(),
            "nonce": request.nonce,
            "timestamp": float(now),
        }
        body = _sign(identity, "network.handshake.answer", payload)
        if len(body) <= MAX_ANSWER_BYTES or not listed:
            return body
        listed = listed[: len(listed) // 2]


# -- verification ----------------------------------------------------------------------------


def _parse(raw: bytes, max_bytes: int) -> Mapping[str, object]:
    if len(raw) > max_bytes:
        raise HandshakeRejected("too_large", f"body is larger than {max_bytes} bytes")
    try:
        value = json.loads(raw, parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise HandshakeRejected("malformed", f"body is not JSON: {exc}") from None
    try:
        return _obj(value, "body")
    except MalformedRecord as exc:
        raise HandshakeRejected("malformed", exc.detail) from None


def _no_constants(name: str) -> object:
    raise ValueError(f"{name} is not allowed")


def _shaped(reason: str) -> RejectReason:
    return reason if reason in REJECT_REASONS else "malformed"  # type: ignore[return-value]


def _check_time(timestamp: float, now: float, skew: float) -> None:
    if timestamp < now - skew:
        raise HandshakeRejected("stale_timestamp", f"timestamp is more than {skew:g} s old")
    if timestamp > now + skew:
        raise HandshakeRejected("future_timestamp", f"timestamp is {skew:g} s+ in the future")


def _check_signature(
    member: MemberRecord, kind: str, obj: Mapping[str, object], signature: bytes
) -> None:
    payload = {k: v for k, v in obj.items() if k != "signature"}
    if not verify_signature(member.info.public_key, _message(kind, payload), signature):
        raise HandshakeRejected("bad_signature", f"{kind} signature does not verify")


def _verify_member(member: MemberRecord) -> None:
    try:
        member.verify()
    except InvalidRecord as exc:
        raise HandshakeRejected(_shaped(exc.reason), exc.detail) from None
    if member.state != "alive":
        raise HandshakeRejected("not_alive", "a handshake carries the sender's alive record")


def _sketch(obj: Mapping[str, object]) -> bytes | None:
    value = obj.get("hll")
    if value is None:
        return None
    text = _str(value, "hll", MAX_SKETCH_HEX)
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise MalformedRecord("hll must be hex") from None


def _nonce(obj: Mapping[str, object]) -> str:
    nonce = _str(_field(obj, "nonce", "body"), "nonce", 2 * NONCE_BYTES)
    if len(nonce) != 2 * NONCE_BYTES or any(c not in "0123456789abcdef" for c in nonce):
        raise MalformedRecord(f"nonce must be {2 * NONCE_BYTES} lowercase hex digits")
    return nonce


def verify_handshake(
    raw: bytes, *, nonces: NonceWindow, now: float, skew: float = HANDSHAKE_SKEW
) -> Handshake:
    """Check a request body; on success its nonce is recorded, on failure nothing is."""
    obj = _parse(raw, MAX_HANDSHAKE_BYTES)
    try:
        if obj.get("schema") != SCHEMA_VERSION:
            raise HandshakeRejected("wrong_schema", f"schema must be {SCHEMA_VERSION!r}")
        member = MemberRecord.from_json(_field(obj, "node", "body"))
        nonce = _nonce(obj)
        timestamp = _number(_field(obj, "timestamp", "body"), "timestamp")
        receipts = tuple(
            ReachabilityReceipt.from_json(r)
            for r in _list(
                _field(obj, "reachability_receipts", "body"), "reachability_receipts", MAX_RECEIPTS
            )
        )
        sketch = _sketch(obj)
        signature = _hex(_field(obj, "signature", "body"), "signature", SIGNATURE_BYTES)
        if set(obj) - _REQUEST_FIELDS:
            raise MalformedRecord("body has unknown fields")
    except MalformedRecord as exc:
        raise HandshakeRejected(_shaped(exc.reason), exc.detail) from None
    _check_time(timestamp, now, skew)
    nonces.check(nonce, now)
    _verify_member(member)
    _check_signature(member, "network.handshake", obj, signature)
    for receipt in receipts:
        # A sender presents receipts others issued about it, and delivers the ones it
        # issued itself about the nodes it reached; a third party's receipt about a third
        # node is hearsay the sender cannot vouch for.
        if member.node_id not in (receipt.target, receipt.issuer):
            raise HandshakeRejected(
                "forged_receipt", "a receipt neither about nor issued by the sender"
            )
        try:
            receipt.verify()
        except InvalidRecord as exc:
            raise HandshakeRejected("forged_receipt", exc.detail) from None
    nonces.record(nonce, now)
    return Handshake(member, nonce, timestamp, receipts, sketch)


def accept_handshake(
    raw: bytes,
    *,
    nonces: NonceWindow,
    members: MemberSet,
    receipts: ReceiptSet,
    now: float,
    skew: float = HANDSHAKE_SKEW,
) -> Handshake:
    """Verify a request, then upsert its member and store its receipts (all or nothing)."""
    handshake = verify_handshake(raw, nonces=nonces, now=now, skew=skew)
    members.apply(handshake.member)
    for receipt in handshake.receipts:
        receipts.apply(receipt)
    return handshake


def verify_answer(
    raw: bytes,
    *,
    request_nonce: str,
    now: float,
    skew: float = HANDSHAKE_SKEW,
    expected_node: str | None = None,
) -> HandshakeAnswer:
    """Check an answer to the request sent with ``request_nonce``.

    Listed records are verified one by one; the answer is refused if any fails, so a peer
    cannot slip a forged member in among real ones.
    """
    obj = _parse(raw, MAX_ANSWER_BYTES)
    try:
        if obj.get("schema") != SCHEMA_VERSION:
            raise HandshakeRejected("wrong_schema", f"schema must be {SCHEMA_VERSION!r}")
        member = MemberRecord.from_json(_field(obj, "node", "answer"))
        known = tuple(
            MemberRecord.from_json(r)
            for r in _list(
                _field(obj, "known_public_nodes", "answer"), "known_public_nodes", MAX_KNOWN_NODES
            )
        )
        n_value = _field(obj, "n_estimate", "answer")
        if isinstance(n_value, bool) or not isinstance(n_value, int):
            raise MalformedRecord("n_estimate must be an integer")
        if not 0 <= n_value <= MAX_COUNTER:
            raise MalformedRecord("n_estimate is out of range")
        nonce = _nonce(obj)
        timestamp = _number(_field(obj, "timestamp", "answer"), "timestamp")
        sketch = _sketch(obj)
        signature = _hex(_field(obj, "signature", "answer"), "signature", SIGNATURE_BYTES)
    except MalformedRecord as exc:
        raise HandshakeRejected(_shaped(exc.reason), exc.detail) from None
    if nonce != request_nonce:
        raise HandshakeRejected("wrong_nonce", "the answer is not to this request")
    _check_time(timestamp, now, skew)
    _verify_member(member)
    if expected_node is not None and member.node_id != expected_node:
        raise HandshakeRejected("node_id_mismatch", "the answer comes from another node")
    _check_signature(member, "network.handshake.answer", obj, signature)
    for record in known:
        try:
            record.verify()
        except InvalidRecord as exc:
            raise HandshakeRejected(_shaped(exc.reason), f"known node: {exc.detail}") from None
        # Only a node's own alive record is listed: a suspect or dead record signed by some
        # reporter is that reporter's opinion, and taking it from a peer would let one
        # member outrank everyone's view of another (liveness is SWIM's to judge).
        if record.state != "alive":
            raise HandshakeRejected("not_alive", "a known public node must be alive")
    return HandshakeAnswer(member, known, n_value, sketch, nonce, timestamp)
