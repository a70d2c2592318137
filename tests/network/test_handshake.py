"""The signed handshake: a good one is accepted and stored; every kind of bad one (forged,
replayed, stale, mis-identified, oversized, malformed, with a forged receipt) is refused with
its reason and changes nothing — not the members, not the receipts, not the nonce window."""

from __future__ import annotations

import dataclasses
import json

import pytest

from qfzz.network import (
    HANDSHAKE_SKEW,
    MAX_ANSWER_BYTES,
    MAX_HANDSHAKE_BYTES,
    MAX_KNOWN_NODES,
    MAX_RECEIPTS,
    REJECT_REASONS,
    SCHEMA_VERSION,
    HandshakeRejected,
    MemberRecord,
    MemberSet,
    NodeIdentity,
    NodeInfo,
    NodeSketch,
    NonceWindow,
    ReachabilityReceipt,
    ReceiptSet,
    accept_handshake,
    build_answer,
    build_handshake,
    canonical,
    new_nonce,
    verify_answer,
)
from qfzz.testing import FakeClock

SENDER = NodeIdentity.from_seed(b"\x01" * 32)
RECEIVER = NodeIdentity.from_seed(b"\x02" * 32)
WITNESSES = [NodeIdentity.from_seed(bytes([10 + i]) * 32) for i in range(3)]


def _alive(identity, host, counter=1, timestamp=0.0, privacy="public"):
    info = NodeInfo.of(identity, host, capabilities=["radio"], privacy=privacy, asn="AS64500")
    return MemberRecord.signed(
        identity, info, "alive", incarnation=1, logical_counter=counter, timestamp=timestamp
    )


class Receiver:
    """The receiving node's state; ``state()`` is everything a handshake may change."""

    def __init__(self, clock):
        self.clock = clock
        self.nonces = NonceWindow()
        self.members = MemberSet()
        self.receipts = ReceiptSet()

    def accept(self, raw):
        return accept_handshake(
            raw,
            nonces=self.nonces,
            members=self.members,
            receipts=self.receipts,
            now=self.clock(),
        )

    def state(self):
        return (self.members.snapshot(), self.receipts.snapshot(), len(self.nonces))


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def receiver(clock):
    return Receiver(clock)


def _receipts(now, target=SENDER.node_id):
    return tuple(
        ReachabilityReceipt.signed(w, target, asn=f"AS{i}", timestamp=now)
        for i, w in enumerate(WITNESSES)
    )


def _body(clock, **overrides):
    member = overrides.pop("member", _alive(SENDER, "sender.example", timestamp=clock()))
    identity = overrides.pop("identity", SENDER)
    return build_handshake(
        identity,
        member,
        now=overrides.pop("now", clock()),
        receipts=_receipts(clock()),
        **overrides,
    )


def _resign(obj, identity=SENDER, kind="network.handshake"):
    """Re-sign an edited body, so the edit — not the signature — is what gets judged."""
    payload = {k: v for k, v in obj.items() if k != "signature"}
    message = f"qfzz/{SCHEMA_VERSION}/{kind}\n".encode() + canonical(payload)
    return json.dumps({**payload, "signature": identity.sign(message).hex()}).encode()


def _edit(raw, edit, resign=True):
    obj = json.loads(raw)
    edit(obj)
    return _resign(obj) if resign else json.dumps(obj).encode()


def _assert_rejected(receiver, raw, reason):
    assert reason in REJECT_REASONS
    before = receiver.state()
    with pytest.raises(HandshakeRejected) as caught:
        receiver.accept(raw)
    assert caught.value.reason == reason, caught.value.detail
    assert receiver.state() == before


# -- the good path ---------------------------------------------------------------------------


def test_a_good_handshake_upserts_the_member_and_stores_its_receipts(receiver, clock):
    handshake = receiver.accept(_body(clock))
    assert receiver.members.get(SENDER.node_id) == handshake.member
    assert handshake.member.info.public_host == "sender.example"
    assert len(receiver.receipts) == len(WITNESSES)
    assert len(receiver.nonces) == 1


def test_the_answer_round_trips_and_is_bound_to_the_request(receiver, clock):
    sketch = NodeSketch.of([SENDER.node_id, RECEIVER.node_id])
    handshake = receiver.accept(_body(clock))
    others = (_alive(WITNESSES[0], "w0.example"), _alive(WITNESSES[1], "w1.example"))
    raw = build_answer(
        RECEIVER,
        _alive(RECEIVER, "receiver.example"),
        handshake,
        known_public_nodes=others,
        n_estimate=42,
        now=clock(),
        sketch=sketch.to_bytes(),
    )
    answer = verify_answer(
        raw, request_nonce=handshake.nonce, now=clock(), expected_node=RECEIVER.node_id
    )
    assert answer.known_public_nodes == others
    assert answer.n_estimate == 42
    assert NodeSketch.from_bytes(answer.sketch).estimate() == pytest.approx(2, abs=0.1)

    def bad(reason, data, **kwargs):
        args = {"request_nonce": handshake.nonce, "now": clock(), **kwargs}
        with pytest.raises(HandshakeRejected) as caught:
            verify_answer(data, **args)
        assert caught.value.reason == reason

    bad("wrong_nonce", raw, request_nonce=new_nonce())  # an answer to another request
    bad("node_id_mismatch", raw, expected_node=WITNESSES[2].node_id)
    bad("stale_timestamp", raw, now=clock() + HANDSHAKE_SKEW + 1)
    obj = json.loads(raw)
    obj["n_estimate"] = 10**9  # a peer in the middle inflating the estimate
    bad("bad_signature", json.dumps(obj).encode())
    obj = json.loads(raw)
    obj["known_public_nodes"][0]["info"]["public_host"] = "evil.example"
    bad("bad_signature", _resign(obj, RECEIVER, "network.handshake.answer"))
    obj = json.loads(raw)
    obj["n_estimate"] = "many"
    bad("malformed", json.dumps(obj).encode())


def _largest_member(identity, timestamp):
    info = NodeInfo.of(
        identity,
        "h" * 253,
        capabilities=[f"{i:02d}" + "c" * 30 for i in range(16)],
        asn="A" * 32,
        metrics={f"{i:02d}" + "m" * 62: -1.2345678901234567e15 for i in range(32)},
    )
    return MemberRecord.signed(
        identity, info, "alive", incarnation=2**53, logical_counter=2**53, timestamp=timestamp
    )


def test_the_largest_handshake_a_node_can_build_is_accepted(receiver, clock):
    witnesses = [NodeIdentity.from_seed(bytes([50 + i]) * 32) for i in range(MAX_RECEIPTS)]
    receipts = tuple(
        ReachabilityReceipt.signed(w, SENDER.node_id, asn="A" * 32, timestamp=clock())
        for w in witnesses
    )
    sketch = NodeSketch.of(str(i) for i in range(100_000)).to_bytes()
    raw = build_handshake(
        SENDER, _largest_member(SENDER, clock()), now=clock(), receipts=receipts, sketch=sketch
    )
    handshake = receiver.accept(raw)
    assert len(handshake.receipts) == MAX_RECEIPTS
    assert handshake.sketch == sketch


def test_an_answer_lists_only_as_many_nodes_as_the_caller_accepts(receiver, clock):
    handshake = receiver.accept(_body(clock))
    many = tuple(
        _largest_member(NodeIdentity.from_seed(i.to_bytes(32, "big")), clock())
        for i in range(1, MAX_KNOWN_NODES + 1)
    )
    raw = build_answer(
        RECEIVER,
        _alive(RECEIVER, "r.example"),
        handshake,
        known_public_nodes=many,
        n_estimate=len(many),
        now=clock(),
    )
    assert len(raw) <= MAX_ANSWER_BYTES
    answer = verify_answer(raw, request_nonce=handshake.nonce, now=clock())
    assert 0 < len(answer.known_public_nodes) < len(many)
    assert answer.known_public_nodes == many[: len(answer.known_public_nodes)]


# -- tampering: each kind refused, nothing stored ---------------------------------------------


def test_bad_signature(receiver, clock):
    raw = _body(clock)
    _assert_rejected(
        receiver,
        _edit(raw, lambda o: o.update(timestamp=o["timestamp"] + 1), False),
        "bad_signature",
    )
    obj = json.loads(raw)
    obj["signature"] = ("0" if obj["signature"][0] != "0" else "1") + obj["signature"][1:]
    _assert_rejected(receiver, json.dumps(obj).encode(), "bad_signature")
    # signed by someone else's key than the one the node record carries
    _assert_rejected(receiver, _resign(json.loads(raw), RECEIVER), "bad_signature")
    # the node record itself altered (and the body re-signed): its own signature fails
    _assert_rejected(
        receiver,
        _edit(raw, lambda o: o["node"]["info"].update(public_host="evil.example")),
        "bad_signature",
    )


def test_replayed_nonce(receiver, clock):
    raw = _body(clock)
    receiver.accept(raw)
    clock.advance(1)
    _assert_rejected(receiver, raw, "replayed_nonce")
    # the same nonce in a freshly signed body is still a replay
    _assert_rejected(receiver, _edit(raw, lambda o: o.update(timestamp=clock())), "replayed_nonce")
    # and once the window has passed, the timestamp refuses it
    clock.advance(HANDSHAKE_SKEW + 1)
    _assert_rejected(receiver, raw, "stale_timestamp")


@pytest.mark.parametrize(
    ("offset", "reason"),
    [(-HANDSHAKE_SKEW - 1, "stale_timestamp"), (HANDSHAKE_SKEW + 1, "future_timestamp")],
)
def test_stale_or_future_timestamp(receiver, clock, offset, reason):
    _assert_rejected(receiver, _body(clock, now=clock() + offset), reason)


def test_within_the_skew_window_is_accepted(receiver, clock):
    receiver.accept(_body(clock, now=clock() - HANDSHAKE_SKEW + 1))
    receiver.accept(_body(clock, now=clock() + HANDSHAKE_SKEW - 1))
    assert len(receiver.nonces) == 2


def test_node_id_not_the_keys_hash(receiver, clock):
    info = dataclasses.replace(NodeInfo.of(SENDER, "sender.example"), node_id=WITNESSES[0].node_id)
    record = MemberRecord.signed(
        SENDER, info, "alive", incarnation=1, logical_counter=1, timestamp=clock()
    )
    _assert_rejected(receiver, _body(clock, member=record), "node_id_mismatch")


def test_a_handshake_must_carry_the_senders_own_alive_record(receiver, clock):
    other = _alive(WITNESSES[0], "w0.example", timestamp=clock())
    _assert_rejected(receiver, _body(clock, member=other), "bad_signature")
    suspect = MemberRecord.signed(
        SENDER,
        NodeInfo.of(WITNESSES[0], "w0.example"),
        "suspect",
        incarnation=1,
        logical_counter=9,
        timestamp=clock(),
    )
    _assert_rejected(receiver, _body(clock, member=suspect), "not_alive")


def test_oversized_body(receiver, clock):
    raw = _body(clock)
    padded = raw[:-1] + b"," + b'"pad":"' + b"x" * MAX_HANDSHAKE_BYTES + b'"}'
    _assert_rejected(receiver, padded, "too_large")


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda o: o.update(timestamp="now"), "malformed"),
        (lambda o: o.update(nonce=12345), "malformed"),
        (lambda o: o.update(nonce="ab"), "malformed"),
        (lambda o: o.update(reachability_receipts={}), "malformed"),
        (lambda o: o.update(node="sender"), "malformed"),
        (lambda o: o.update(schema="v2"), "wrong_schema"),
        (lambda o: o.update(extra=1), "malformed"),
        (lambda o: o.pop("nonce"), "malformed"),
        (lambda o: o.update(hll="not hex"), "malformed"),
        (lambda o: o["node"]["info"].update(public_host="h" * 300), "string_too_long"),
        (lambda o: o["node"]["info"].update(capabilities=["c" * 33]), "string_too_long"),
        (lambda o: o["node"].update(logical_counter=-1), "malformed"),
        (
            lambda o: o.update(reachability_receipts=o["reachability_receipts"] * (MAX_RECEIPTS)),
            "too_many_items",
        ),
    ],
)
def test_malformed_bodies(receiver, clock, edit, reason):
    _assert_rejected(receiver, _edit(_body(clock), edit), reason)


@pytest.mark.parametrize(
    "raw", [b"", b"not json", b"[1,2]", b'{"timestamp": NaN}', b"\xff\xfe", b"[" * 100_000]
)
def test_not_json_or_not_an_object(receiver, raw):
    _assert_rejected(receiver, raw, "too_large" if len(raw) > MAX_HANDSHAKE_BYTES else "malformed")


def test_forged_receipt(receiver, clock):
    raw = _body(clock)

    def tamper(obj):
        obj["reachability_receipts"][0]["reachable"] = not obj["reachability_receipts"][0][
            "reachable"
        ]

    _assert_rejected(receiver, _edit(raw, tamper), "forged_receipt")

    def impersonate(obj):  # the receipt claims a witness the key does not hash to
        obj["reachability_receipts"][1]["issuer"] = RECEIVER.node_id

    _assert_rejected(receiver, _edit(raw, impersonate), "forged_receipt")
    # a genuine receipt, but between two other nodes, is hearsay the sender cannot vouch for
    foreign = _receipts(clock(), target=WITNESSES[2].node_id)[0]
    _assert_rejected(
        receiver,
        _edit(raw, lambda o: o["reachability_receipts"].append(foreign.to_json())),
        "forged_receipt",
    )
    # and the sender vouching for itself
    own = ReachabilityReceipt.signed(SENDER, SENDER.node_id, asn=None, timestamp=clock())
    _assert_rejected(
        receiver,
        _edit(raw, lambda o: o["reachability_receipts"].append(own.to_json())),
        "forged_receipt",
    )


# -- the nonce window stays bounded ------------------------------------------------------------


def test_the_nonce_window_is_bounded_by_time_and_count(clock):
    receiver = Receiver(clock)
    receiver.nonces = NonceWindow(capacity=3)
    for _ in range(3):
        receiver.accept(_body(clock))
    _assert_rejected(receiver, _body(clock), "nonce_window_full")
    clock.advance(2 * HANDSHAKE_SKEW + 1)
    receiver.accept(_body(clock))
    assert len(receiver.nonces) == 1


def test_the_sender_delivers_the_receipts_it_issued(receiver, clock):
    """A caller that reached another node hands over its receipt; it is stored."""
    issued = ReachabilityReceipt.signed(SENDER, RECEIVER.node_id, asn="AS1", timestamp=clock())
    raw = _edit(_body(clock), lambda o: o["reachability_receipts"].append(issued.to_json()))
    receiver.accept(raw)
    assert receiver.receipts.snapshot()[issued.key] == issued


def test_an_answer_cannot_list_someone_elses_accusation(receiver, clock):
    """A dead record signed by a reporter is its opinion: a peer cannot hand it on."""
    handshake = receiver.accept(_body(clock))
    subject = _alive(WITNESSES[0], "w0.example")
    dead = MemberRecord.signed(
        WITNESSES[1], subject.info, "dead", incarnation=9, logical_counter=10**6, timestamp=1.0
    )
    raw = build_answer(
        RECEIVER,
        _alive(RECEIVER, "receiver.example"),
        handshake,
        known_public_nodes=(dead,),
        n_estimate=3,
        now=clock(),
    )
    with pytest.raises(HandshakeRejected) as caught:
        verify_answer(raw, request_nonce=handshake.nonce, now=clock())
    assert caught.value.reason == "not_alive"
