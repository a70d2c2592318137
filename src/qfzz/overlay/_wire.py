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

from qfzz.network import (
    HANDSHAKE_SKEW,
    SCHEMA_VERSION,
    HandshakeRejected,
    MalformedRecord,
    MemberRecord,
    NodeIdentity,
    SwimState,
    Update,
    canonical,
    verify_signature,
)
from qfzz.network import SwimAck as Ack
from qfzz.network import SwimGossip as Gossip
from qfzz.network import SwimIndirectPing as IndirectPing
from qfzz.network import SwimNack as Nack
from qfzz.network import SwimPing as Ping
from qfzz.network import SwimPushPull as PushPull

MAX_SWIM_BYTES = 512 * 1024
"""A push-pull carries the whole member list; everything else is far smaller."""
MAX_PIGGYBACK = 16
MAX_PUSHPULL_MEMBERS = 2_000
MAX_ADDRESS_CHARS = 300
MAX_INTEGER = 2**53
_KIND = "network.swim"
_STATES = {s.value: s for s in SwimState}


@dataclass(frozen=True)
class Envelope:
    """A parsed envelope, before its record and signature are checked."""

    sender: MemberRecord
    timestamp: float
    message: Mapping[str, object]
    payload: Mapping[str, object]
    signature: bytes


def _signed(payload: Mapping[str, object]) -> bytes:
    return f"qfzz/{SCHEMA_VERSION}/{_KIND}\n".encode("ascii") + canonical(payload)


def seal(identity: NodeIdentity, record: MemberRecord, message: object, *, now: float) -> bytes:
    """The body that carries ``message`` from this node (``record``: its alive record)."""
    payload = {
        "schema": SCHEMA_VERSION,
        "node": record.to_json(),
        "timestamp": float(now),
        "message": encode(message),
    }
    signature = identity.sign(_signed(payload)).hex()
    return json.dumps({**payload, "signature": signature}, separators=(",", ":")).encode()


def open_envelope(raw: bytes) -> Envelope:
    """Parse and bound an envelope; its signature is checked by ``verify`` once the sender's
    key is looked up."""
    if len(raw) > MAX_SWIM_BYTES:
        raise HandshakeRejected("too_large", f"body is larger than {MAX_SWIM_BYTES} bytes")
    try:
        obj = json.loads(raw, parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise HandshakeRejected("malformed", f"body is not JSON: {exc}") from None
    try:
        body = _obj(obj, "body")
        if body.get("schema") != SCHEMA_VERSION:
            raise HandshakeRejected("wrong_schema", f"schema must be {SCHEMA_VERSION!r}")
        signature_hex = _text(body.get("signature"), "signature", 128)
        try:
            signature = bytes.fromhex(signature_hex)
        except ValueError:
            raise MalformedRecord("signature must be hex") from None
        payload = {k: v for k, v in body.items() if k != "signature"}
        if set(payload) != {"schema", "node", "timestamp", "message"}:
            raise MalformedRecord("envelope has missing or unknown fields")
        return Envelope(
            sender=MemberRecord.from_json(payload["node"]),
            timestamp=_number(payload["timestamp"], "timestamp"),
            message=_obj(payload["message"], "message"),
            payload=payload,
            signature=signature,
        )
    except MalformedRecord as exc:
        raise HandshakeRejected("malformed", exc.detail) from None


def verify(envelope: Envelope, *, now: float, skew: float = HANDSHAKE_SKEW) -> None:
    """Raise ``HandshakeRejected`` unless the envelope is fresh and signed with the key of
    its sender's record (the record itself is checked by whoever stores it)."""
    if envelope.timestamp < now - skew:
        raise HandshakeRejected("stale_timestamp", f"timestamp is more than {skew:g} s old")
    if envelope.timestamp > now + skew:
        raise HandshakeRejected("future_timestamp", f"timestamp is {skew:g} s+ in the future")
    key = envelope.sender.info.public_key
    if not verify_signature(key, _signed(envelope.payload), envelope.signature):
        raise HandshakeRejected("bad_signature", "swim envelope signature does not verify")


# -- messages ----------------------------------------------------------------------------------


def encode(message: object) -> dict[str, Any]:
    """A SWIM message as JSON (the inverse of ``decode``)."""
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


def decode(obj: Mapping[str, object]) -> object:
    """A bounded SWIM message from JSON; raises ``MalformedRecord``."""
    kind = obj.get("type")
    if kind == "ping":
        return Ping(_seq(obj), _node_id(obj.get("target"), "target"), _updates(obj))
    if kind == "indirect_ping":
        return IndirectPing(
            _seq(obj),
            _node_id(obj.get("target"), "target"),
            _address(obj.get("target_address")),
            _updates(obj),
        )
    if kind == "ack":
        return Ack(_seq(obj), _updates(obj))
    if kind == "nack":
        return Nack(_seq(obj), _updates(obj))
    if kind == "gossip":
        return Gossip(_updates(obj))
    if kind == "push_pull":
        reply = obj.get("reply")
        if not isinstance(reply, bool):
            raise MalformedRecord("reply must be true or false")
        return PushPull(_updates(obj, "members", MAX_PUSHPULL_MEMBERS), reply)
    raise MalformedRecord("unknown message type")


def _updates_out(updates: tuple[Update, ...]) -> list[list[object]]:
    return [[u.node_id, u.address, u.incarnation, u.state.value, u.source] for u in updates]


def _updates(
    obj: Mapping[str, object], name: str = "updates", limit: int = MAX_PIGGYBACK
) -> tuple[Update, ...]:
    value = obj.get(name)
    if not isinstance(value, list):
        raise MalformedRecord(f"{name} must be a list")
    if len(value) > limit:
        raise MalformedRecord(f"{name} holds more than {limit} items", "too_many_items")
    out = []
    for item in value:
        if not isinstance(item, list) or len(item) != 5:
            raise MalformedRecord("an update is [node_id, address, incarnation, state, source]")
        node_id, address, incarnation, state, source = item
        if state not in _STATES:
            raise MalformedRecord("unknown member state")
        out.append(
            Update(
                _node_id(node_id, "node_id"),
                _address(address),
                _integer(incarnation, "incarnation"),
                _STATES[str(state)],
                _node_id(source, "source"),
            )
        )
    return tuple(out)


# -- bounded scalars -----------------------------------------------------------------------------


def _no_constants(name: str) -> object:
    raise ValueError(f"{name} is not allowed")


def _obj(value: object, what: str) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise MalformedRecord(f"{what} must be an object")
    return value


def _text(value: object, what: str, max_chars: int) -> str:
    if not isinstance(value, str):
        raise MalformedRecord(f"{what} must be a string")
    if len(value) > max_chars:
        raise MalformedRecord(f"{what} is longer than {max_chars} characters", "string_too_long")
    return value


def _node_id(value: object, what: str) -> str:
    text = _text(value, what, 64)
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise MalformedRecord(f"{what} must be a node id (64 lowercase hex digits)")
    return text


def _address(value: object) -> str:
    text = _text(value, "address", MAX_ADDRESS_CHARS)
    if not text.startswith(("http://", "https://")):
        raise MalformedRecord("an address is an http(s) URL")
    return text


def _integer(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INTEGER:
        raise MalformedRecord(f"{what} must be an integer in [0, 2**53]")
    return value


def _seq(obj: Mapping[str, object]) -> int:
    return _integer(obj.get("seq"), "seq")


def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MalformedRecord(f"{what} must be a number")
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise MalformedRecord(f"{what} must be finite")
    return number
