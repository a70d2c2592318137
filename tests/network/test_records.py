"""Membership records and receipts: signed, verified, and merged as LWW sets whose merge is
commutative, associative and idempotent (hypothesis), so any delivery order converges."""

from __future__ import annotations

import dataclasses
import itertools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qfzz.network import (
    DHT_MEMBERSHIP_TTL,
    InvalidRecord,
    MalformedRecord,
    MemberRecord,
    MemberSet,
    NodeIdentity,
    NodeInfo,
    ReachabilityReceipt,
    ReceiptSet,
)

NODES = [NodeIdentity.from_seed(bytes([i + 1]) * 32) for i in range(4)]
INFOS = [
    NodeInfo.of(
        n, f"node{i}.example", asn=f"AS{64500 + i}", privacy="private" if i == 3 else "public"
    )
    for i, n in enumerate(NODES)
]


def _record(subject, state, counter, timestamp, reporter=None):
    signer = NODES[subject] if state in ("alive", "left") else NODES[reporter or 0]
    return MemberRecord.signed(
        signer,
        INFOS[subject],
        state,
        incarnation=counter,
        logical_counter=counter,
        timestamp=timestamp,
    )


# A pool with many ties on (logical_counter, timestamp) so tie-breaking is exercised.
RECORD_POOL = [
    _record(subject, state, counter, ts, reporter=(subject + 1) % 4)
    for subject in range(3)
    for state in ("alive", "suspect", "dead", "left")
    for counter in (1, 2, 3)
    for ts in (10.0, 20.0)
]
RECEIPT_POOL = [
    ReachabilityReceipt.signed(NODES[i], NODES[t].node_id, asn=f"AS{i}", timestamp=ts, reachable=ok)
    for i, t in itertools.permutations(range(4), 2)
    for ts in (100.0, 200.0)
    for ok in (True, False)
]

records = st.lists(st.sampled_from(RECORD_POOL), max_size=20)
receipts = st.lists(st.sampled_from(RECEIPT_POOL), max_size=20)


def members_of(items):
    members = MemberSet()
    for record in items:
        members.apply(record)
    return members


def receipts_of(items):
    receipt_set = ReceiptSet()
    for receipt in items:
        receipt_set.apply(receipt)
    return receipt_set


def merged(*sets):
    out = type(sets[0])()
    for s in sets:
        out.merge(s)
    return out


# -- the CRDT properties -----------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(records, st.randoms(use_true_random=False))
def test_any_delivery_order_gives_the_same_members(items, rnd):
    shuffled = list(items)
    rnd.shuffle(shuffled)
    assert members_of(items) == members_of(shuffled)
    assert members_of(items) == members_of(items + shuffled)  # duplicates change nothing


@settings(max_examples=200, deadline=None)
@given(records, records, records)
def test_member_merge_is_commutative_associative_idempotent(a, b, c):
    sa, sb, sc = members_of(a), members_of(b), members_of(c)
    assert merged(sa, sb) == merged(sb, sa)
    assert merged(merged(sa, sb), sc) == merged(sa, merged(sb, sc))
    assert merged(sa, sa) == sa
    assert merged(sa, sb) == members_of(a + b)  # merging sets = delivering all records


@settings(max_examples=200, deadline=None)
@given(receipts, receipts, receipts, st.randoms(use_true_random=False))
def test_receipt_merge_is_commutative_associative_idempotent(a, b, c, rnd):
    sa, sb, sc = receipts_of(a), receipts_of(b), receipts_of(c)
    assert merged(sa, sb) == merged(sb, sa)
    assert merged(merged(sa, sb), sc) == merged(sa, merged(sb, sc))
    assert merged(sa, sa) == sa
    shuffled = list(a)
    rnd.shuffle(shuffled)
    assert receipts_of(shuffled) == sa


@settings(max_examples=100, deadline=None)
@given(records)
def test_the_winner_is_the_highest_rank_per_node(items):
    members = members_of(items)
    for node in {r.node_id for r in items}:
        assert members.get(node) == max(
            (r for r in items if r.node_id == node), key=MemberRecord.rank
        )


# -- LWW order --------------------------------------------------------------------------------


def test_higher_logical_counter_wins_over_newer_timestamp():
    old_but_higher = _record(0, "left", 5, 10.0)
    newer_but_lower = _record(0, "alive", 4, 99.0)
    assert members_of([old_but_higher, newer_but_lower]).get(NODES[0].node_id) == old_but_higher


def test_timestamp_breaks_a_counter_tie_then_the_signers_id():
    a = _record(0, "alive", 3, 10.0)
    b = _record(0, "suspect", 3, 11.0, reporter=1)
    assert members_of([b, a]).get(NODES[0].node_id) == b
    by1 = _record(0, "dead", 3, 11.0, reporter=1)
    by2 = _record(0, "dead", 3, 11.0, reporter=2)
    winner = max(by1, by2, key=lambda r: r.reporter)
    assert members_of([by1, by2]).get(NODES[0].node_id) == winner
    assert members_of([by2, by1]).get(NODES[0].node_id) == winner


def test_conflicts_are_counted_but_not_state():
    members = members_of([_record(0, "alive", 1, 1.0)])
    members.apply(_record(0, "alive", 2, 2.0))
    members.apply(_record(0, "alive", 2, 2.0))  # the same record again: no conflict
    assert members.conflicts == 1
    assert members == members_of([_record(0, "alive", 2, 2.0)])


# -- verification: only signed, self-consistent records enter ---------------------------------


def _assert_rejected(members, record, reason):
    before = members.snapshot()
    with pytest.raises(InvalidRecord) as caught:
        members.apply(record)
    assert caught.value.reason == reason
    assert members.snapshot() == before


def test_a_tampered_record_is_refused_and_changes_nothing():
    members = members_of([_record(0, "alive", 1, 1.0)])
    good = _record(0, "alive", 2, 2.0)
    _assert_rejected(members, dataclasses.replace(good, logical_counter=99), "bad_signature")
    _assert_rejected(members, dataclasses.replace(good, state="left"), "bad_signature")
    other_host = dataclasses.replace(good.info, public_host="evil.example")
    _assert_rejected(members, dataclasses.replace(good, info=other_host), "bad_signature")


def test_a_node_id_that_is_not_its_keys_hash_is_refused():
    members = MemberSet()
    info = dataclasses.replace(INFOS[0], public_key=NODES[1].public_key)
    record = MemberRecord.signed(
        NODES[1], info, "alive", incarnation=1, logical_counter=1, timestamp=1.0
    )
    _assert_rejected(members, record, "node_id_mismatch")


def test_only_the_node_itself_may_say_alive_or_left():
    members = MemberSet()
    for state in ("alive", "left"):
        record = MemberRecord.signed(
            NODES[1], INFOS[0], state, incarnation=1, logical_counter=1, timestamp=1.0
        )
        _assert_rejected(members, record, "wrong_reporter")
    suspect = _record(0, "suspect", 1, 1.0, reporter=1)
    assert members.apply(suspect)
    assert members.get(NODES[0].node_id).reporter == NODES[1].node_id


def test_apply_all_drops_only_the_bad_records():
    good = _record(0, "alive", 1, 1.0)
    bad = dataclasses.replace(_record(1, "alive", 1, 1.0), timestamp=2.0)
    members = MemberSet()
    assert members.apply_all([good, bad]) == 1
    assert members == members_of([good])


def test_records_round_trip_through_json_and_still_verify():
    for record in RECORD_POOL[:8]:
        wire = json.loads(json.dumps(record.to_json()))
        again = MemberRecord.from_json(wire)
        assert again == record
        again.verify()
    for receipt in RECEIPT_POOL[:4]:
        again = ReachabilityReceipt.from_json(json.loads(json.dumps(receipt.to_json())))
        assert again == receipt
        again.verify()


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        (("state",), "zombie", "malformed"),
        (("incarnation",), "1", "malformed"),
        (("incarnation",), True, "malformed"),
        (("incarnation",), -1, "malformed"),
        (("timestamp",), float("inf"), "malformed"),
        (("info", "public_host"), "h" * 254, "string_too_long"),
        (("info", "capabilities"), ["c"] * 17, "too_many_items"),
        (("info", "metrics"), {f"m{i}": 1.0 for i in range(33)}, "too_many_items"),
        (("info", "metrics"), {"cpu": "high"}, "malformed"),
        (("info", "privacy"), "secret", "malformed"),
        (("info", "node_id"), "XYZ", "malformed"),
        (("info", "public_key"), "00" * 31, "malformed"),
        (("signature",), "zz" * 64, "malformed"),
        (("info",), [], "malformed"),
    ],
)
def test_malformed_record_json_is_refused_with_a_reason(path, value, reason):
    wire = json.loads(json.dumps(RECORD_POOL[0].to_json()))
    target = wire
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(MalformedRecord) as caught:
        MemberRecord.from_json(wire)
    assert caught.value.reason == reason


# -- receipts, expiry, island filtering, privacy ----------------------------------------------


def _receipts_for(target, now, outcomes):
    receipt_set = ReceiptSet()
    issuers = [NodeIdentity.from_seed(bytes([100 + i]) * 32) for i in range(len(outcomes))]
    for issuer, ok in zip(issuers, outcomes, strict=True):
        receipt_set.apply(
            ReachabilityReceipt.signed(issuer, target, asn=None, timestamp=now, reachable=ok)
        )
    return receipt_set


def test_reachability_needs_k_receipts_and_ratio_q():
    target = NODES[0].node_id
    now = 1000.0
    assert not _receipts_for(target, now, [True] * 4).sufficiently_reachable(target, now)
    assert _receipts_for(target, now, [True] * 5).sufficiently_reachable(target, now)
    mixed = _receipts_for(target, now, [True] * 3 + [False] * 2)  # ratio 0.6: enough
    assert mixed.reachability_ratio(target, now) == pytest.approx(0.6)
    assert mixed.sufficiently_reachable(target, now)
    poor = _receipts_for(target, now, [True] * 3 + [False] * 3)  # ratio 0.5: an island
    assert not poor.sufficiently_reachable(target, now)
    assert _receipts_for(target, now, [True] * 3).sufficiently_reachable(
        target, now, min_receipts=3
    )


def test_receipts_expire_after_the_ttl_given_the_clock():
    target = NODES[0].node_id
    receipt_set = _receipts_for(target, 1000.0, [True] * 5)
    assert receipt_set.sufficiently_reachable(target, 1000.0 + DHT_MEMBERSHIP_TTL)
    later = 1000.0 + DHT_MEMBERSHIP_TTL + 1
    assert not receipt_set.sufficiently_reachable(target, later)
    assert receipt_set.reachability_ratio(target, later) == 0.0
    assert not receipt_set.sufficiently_reachable(target, 999.0)  # from the future
    assert receipt_set.prune(later) == 5
    assert len(receipt_set) == 0


def test_a_newer_receipt_from_the_same_issuer_replaces_the_old():
    target = NODES[0].node_id
    receipt_set = ReceiptSet()
    receipt_set.apply(ReachabilityReceipt.signed(NODES[1], target, asn=None, timestamp=1.0))
    receipt_set.apply(
        ReachabilityReceipt.signed(NODES[1], target, asn=None, timestamp=2.0, reachable=False)
    )
    assert receipt_set.reachability_ratio(target, 2.0) == 0.0
    assert len(receipt_set) == 1


def test_forged_and_self_issued_receipts_are_refused():
    receipt_set = ReceiptSet()
    good = ReachabilityReceipt.signed(NODES[1], NODES[0].node_id, asn=None, timestamp=1.0)
    for bad, reason in [
        (dataclasses.replace(good, reachable=False), "bad_signature"),
        (dataclasses.replace(good, issuer=NODES[2].node_id), "node_id_mismatch"),
        (
            ReachabilityReceipt.signed(NODES[0], NODES[0].node_id, asn=None, timestamp=1.0),
            "self_receipt",
        ),
    ]:
        with pytest.raises(InvalidRecord) as caught:
            receipt_set.apply(bad)
        assert caught.value.reason == reason
    assert len(receipt_set) == 0


def test_private_nodes_are_members_but_never_known_public_nodes():
    members = members_of([_record(i, "alive", 1, 1.0) for i in range(3)])
    private = MemberRecord.signed(
        NODES[3], INFOS[3], "alive", incarnation=1, logical_counter=1, timestamp=1.0
    )
    members.apply(private)
    assert members.get(NODES[3].node_id) == private
    public_ids = {r.node_id for r in members.known_public_nodes()}
    assert public_ids == {n.node_id for n in NODES[:3]}
    members.apply(_record(1, "left", 2, 2.0))
    assert NODES[1].node_id not in {r.node_id for r in members.known_public_nodes()}
    only_0 = members.known_public_nodes(reachable=lambda node: node == NODES[0].node_id)
    assert [r.node_id for r in only_0] == [NODES[0].node_id]
