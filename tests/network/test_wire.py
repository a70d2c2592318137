"""SWIM messages on the wire: every message survives encode → JSON → decode unchanged, and
anything out of bounds (too many updates, a bad state, a non-URL address, a huge
incarnation) is refused with a reason before it reaches the detector."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qfzz.network import (
    HandshakeRejected,
    MalformedRecord,
    MemberRecord,
    NodeIdentity,
    NodeInfo,
    SwimAck,
    SwimGossip,
    SwimIndirectPing,
    SwimNack,
    SwimPing,
    SwimPushPull,
    SwimState,
    Update,
    decode_message,
    encode_message,
    open_envelope,
    seal,
    verify_envelope,
)

NODE = NodeIdentity.from_seed(b"\x05" * 32)
ids = st.binary(min_size=32, max_size=32).map(bytes.hex)
addresses = st.from_regex(r"https?://[a-z]{1,20}\.example:[0-9]{2,5}", fullmatch=True)
updates = st.builds(
    Update, ids, addresses, st.integers(0, 2**53), st.sampled_from(list(SwimState)), ids
)
piggyback = st.lists(updates, max_size=16).map(tuple)
seqs = st.integers(0, 2**53)
messages = st.one_of(
    st.builds(SwimPing, seqs, ids, piggyback),
    st.builds(SwimIndirectPing, seqs, ids, addresses, piggyback),
    st.builds(SwimAck, seqs, piggyback),
    st.builds(SwimNack, seqs, piggyback),
    st.builds(SwimGossip, piggyback),
    st.builds(SwimPushPull, st.lists(updates, max_size=50).map(tuple), st.booleans()),
)


@given(messages)
def test_every_message_round_trips(message):
    wire = json.loads(json.dumps(encode_message(message)))
    assert decode_message(wire) == message


def _record():
    info = NodeInfo.of(NODE, "http://node.example:8000")
    return MemberRecord.signed(
        NODE, info, "alive", incarnation=0, logical_counter=1, timestamp=100.0
    )


def test_a_sealed_envelope_opens_and_verifies():
    message = SwimGossip(
        (Update(NODE.node_id, "http://a.example:1", 2, SwimState.ALIVE, NODE.node_id),)
    )
    envelope = open_envelope(seal(NODE, _record(), message, now=100.0))
    verify_envelope(envelope, now=130.0)
    assert envelope.sender == _record()
    assert decode_message(envelope.message) == message
    with pytest.raises(HandshakeRejected) as stale:
        verify_envelope(envelope, now=1_000.0)
    assert stale.value.reason == "stale_timestamp"


def _update(**changes):
    fields = {"node_id": "ab" * 32, "address": "http://a.example:1", "incarnation": 1,
              "state": "alive", "source": "cd" * 32}  # fmt: skip
    fields.update(changes)
    return [fields[k] for k in ("node_id", "address", "incarnation", "state", "source")]


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        ({"type": "gossip", "updates": [_update()] * 17}, "too_many_items"),
        ({"type": "gossip", "updates": [_update(state="zombie")]}, "malformed"),
        ({"type": "gossip", "updates": [_update(address="ftp://x")]}, "malformed"),
        (
            {"type": "gossip", "updates": [_update(address="http://" + "h" * 400)]},
            "string_too_long",
        ),
        ({"type": "gossip", "updates": [_update(incarnation=2**60)]}, "malformed"),
        ({"type": "gossip", "updates": [_update(node_id="xyz")]}, "malformed"),
        ({"type": "ping", "seq": 1, "updates": []}, "malformed"),
        ({"type": "push_pull", "reply": "yes", "members": []}, "malformed"),
        ({"type": "teleport"}, "malformed"),
    ],
)
def test_out_of_bounds_messages_are_refused(wire, reason):
    with pytest.raises(MalformedRecord) as refused:
        decode_message(wire)
    assert refused.value.reason == reason
