"""SWIM messages on the wire: bounded JSON in an envelope signed by the sending node.

memberlist sends its probes unauthenticated over UDP (or encrypted with one shared key).
On the open internet any host can POST to a station, so each message travels inside an
envelope that carries the sender's own signed alive record and is signed with the key in
that record, within the clock-skew window. The receiver learns (or refreshes) the sender
from the record itself, so a probe never waits for a handshake, and takes the sender's
address from the signed record, never from the TCP peer.

Every field is bounded before it is used (sizes, list lengths, string lengths, integer
ranges); anything else raises ``MalformedRecord`` with a reason the route counts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from qfzz.network._handshake import HANDSHAKE_SKEW, HandshakeRejected, _parse, _shaped
from qfzz.network._identity import SCHEMA_VERSION, SIGNATURE_BYTES, NodeIdentity, verify_signature
from qfzz.network._records import (
    MalformedRecord,
    MemberRecord,
    _count,
    _field,
    _hex,
    _list,
    _node_id,
    _number,
    _obj,
    _signed_message,
    _str,
)
from qfzz.network._swim import Ack, Gossip, IndirectPing, Nack, Ping, PushPull, Update
from qfzz.network._swim import State as SwimState

MAX_SWIM_BYTES = 512 * 1024
"""A push-pull carries the whole member list; everything else is far smaller."""
MAX_PIGGYBACK = 16
MAX_PUSHPULL_MEMBERS = 2_000
MAX_ADDRESS_CHARS = 300
_KIND = "network.swim"
_STATES = {s.value: s for s in SwimState}


@dataclass(frozen=True)
class Envelope:
    """A parsed envelope, before its record and signature are checked."""

    kind: str
    sender: MemberRecord
    timestamp: float
    message: Mapping[str, object]
    payload: Mapping[str, object]
    signature: bytes


def seal(identity: NodeIdentity, record: MemberRecord, message: object, *, now: float) -> bytes:
    """The body that carries ``message`` from this node (``record``: its alive record)."""
    return seal_json(identity, record, encode_message(message), now=now, kind=_KIND)


def seal_json(
    identity: NodeIdentity,
    record: MemberRecord,
    message: Mapping[str, object],
    *,
    now: float,
    kind: str,
) -> bytes:
    """Any JSON ``message`` in the same signed envelope, under its own ``kind`` (domain
    separation: a heartbeat's signature never verifies as a SWIM message's)."""
    payload = {
        "schema": SCHEMA_VERSION,
        "node": record.to_json(),
        "timestamp": float(now),
        "message": dict(message),
    }
    signature = identity.sign(_signed_message(kind, payload)).hex()
    return json.dumps({**payload, "signature": signature}, separators=(",", ":")).encode()


def open_envelope(raw: bytes, *, kind: str = _KIND, max_bytes: int = MAX_SWIM_BYTES) -> Envelope:
    """Parse and bound an envelope; ``verify_envelope`` checks its timestamp and signature."""
    body = _parse(raw, max_bytes)
    try:
        if body.get("schema") != SCHEMA_VERSION:
            raise HandshakeRejected("wrong_schema", f"schema must be {SCHEMA_VERSION!r}")
        payload = {k: v for k, v in body.items() if k != "signature"}
        if set(payload) != {"schema", "node", "timestamp", "message"}:
            raise MalformedRecord("envelope has missing or unknown fields")
        return Envelope(
            kind=kind,
            sender=MemberRecord.from_json(payload["node"]),
            timestamp=_number(payload["timestamp"], "timestamp"),
            message=_obj(payload["message"], "message"),
            payload=payload,
            signature=_hex(_field(body, "signature", "body"), "signature", SIGNATURE_BYTES),
        )
    except MalformedRecord as exc:
        raise HandshakeRejected(_shaped(exc.reason), exc.detail) from None


def verify_envelope(envelope: Envelope, *, now: float, skew: float = HANDSHAKE_SKEW) -> None:
    """Raise ``HandshakeRejected`` unless the envelope is fresh and signed with the key of
    its sender's record (the record itself is checked by whoever stores it)."""
    if envelope.timestamp < now - skew:
        raise HandshakeRejected("stale_timestamp", f"timestamp is more than {skew:g} s old")
    if envelope.timestamp > now + skew:
        raise HandshakeRejected("future_timestamp", f"timestamp is {skew:g} s+ in the future")
    key = envelope.sender.info.public_key
    message = _signed_message(envelope.kind, envelope.payload)
    if not verify_signature(key, message, envelope.signature):
        raise HandshakeRejected("bad_signature", f"{envelope.kind} signature does not verify")


# -- messages ----------------------------------------------------------------------------------


def encode_message(message: object) -> dict[str, Any]:
    """A SWIM message as JSON (the inverse of ``decode_message``)."""
    if isinstance(message, Ping):
        return {"type": "ping", "seq": message.seq, "target": message.target,
                "updates": _updates_out(message.updates)}  # fmt: skip
    if isinstance(message, IndirectPing):
        return {"type": "indirect_ping", "seq": message.seq, "target": message.target,
                "target_address": message.target_address,
                "updates": _updates_out(message.updates)}  # fmt: skip
    if isinstance(message, Ack):
        return {"type": "ack", "seq": message.seq, "updates": _updates_out(message.updates)}
    if isinstance(message, Nack):
        return {"type": "nack", "seq": message.seq, "updates": _updates_out(message.updates)}
    if isinstance(message, Gossip):
        return {"type": "gossip", "updates": _updates_out(message.updates)}
    if isinstance(message, PushPull):
        return {"type": "push_pull", "reply": message.reply,
                "members": _updates_out(message.members)}  # fmt: skip
    raise TypeError(f"not a SWIM message: {type(message).__name__}")


def decode_message(obj: Mapping[str, object]) -> object:
    """A bounded SWIM message from JSON; raises ``MalformedRecord``."""
    kind = obj.get("type")
    if kind == "ping":
        return Ping(_seq(obj), _node_id(_field(obj, "target", "ping"), "target"), _updates(obj))
    if kind == "indirect_ping":
        return IndirectPing(
            _seq(obj),
            _node_id(_field(obj, "target", "indirect ping"), "target"),
            _address(_field(obj, "target_address", "indirect ping")),
            _updates(obj),
        )
    if kind == "ack":
        return Ack(_seq(obj), _updates(obj))
    if kind == "nack":
        return Nack(_seq(obj), _updates(obj))
    if kind == "gossip":
        return Gossip(_updates(obj))
    if kind == "push_pull":
        reply = _field(obj, "reply", "push-pull")
        if not isinstance(reply, bool):
            raise MalformedRecord("reply must be true or false")
        return PushPull(_updates(obj, "members", MAX_PUSHPULL_MEMBERS), reply)
    raise MalformedRecord("unknown message type")


def _updates_out(updates: tuple[Update, ...]) -> list[list[object]]:
    return [
        [u.node_id, u.address, u.incarnation, u.state.value, u.source]
        + ([u.proof.hex()] if u.proof else [])
        for u in updates
    ]


def _alive_message(node_id: str, address: str, incarnation: int) -> bytes:
    payload = {"node_id": node_id, "address": address, "incarnation": incarnation}
    return _signed_message("swim.alive", payload)


def sign_alive(identity: NodeIdentity, address: str, incarnation: int) -> bytes:
    """This node's proof that it is alive at ``address`` with ``incarnation``: only the
    node itself can raise its incarnation (a refutation), so a relay cannot forge one."""
    return identity.sign(_alive_message(identity.node_id, address, incarnation))


def alive_proof_holds(update: Update, public_key: bytes) -> bool:
    """Whether ``update`` carries its subject's signature (checked with the subject's key)."""
    message = _alive_message(update.node_id, update.address, update.incarnation)
    return bool(update.proof) and verify_signature(public_key, message, update.proof)


def _updates(
    obj: Mapping[str, object], name: str = "updates", limit: int = MAX_PIGGYBACK
) -> tuple[Update, ...]:
    out = []
    for item in _list(_field(obj, name, "message"), name, limit):
        if not isinstance(item, list) or len(item) not in (5, 6):
            raise MalformedRecord(
                "an update is [node_id, address, incarnation, state, source, proof?]"
            )
        node_id, address, incarnation, state, source = item[:5]
        if state not in _STATES:
            raise MalformedRecord("unknown member state")
        proof = _hex(item[5], "proof", SIGNATURE_BYTES) if len(item) == 6 else b""
        out.append(
            Update(
                _node_id(node_id, "node_id"),
                _address(address),
                _count(incarnation, "incarnation"),
                _STATES[str(state)],
                _node_id(source, "source"),
                proof,
            )
        )
    return tuple(out)


def _address(value: object) -> str:
    text = _str(value, "address", MAX_ADDRESS_CHARS)
    if not text.startswith(("http://", "https://")):
        raise MalformedRecord("an address is an http(s) URL")
    return text


def _seq(obj: Mapping[str, object]) -> int:
    return _count(_field(obj, "seq", "message"), "seq")
