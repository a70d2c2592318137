"""Leases and meta records: signed, bounded, merged by a register whose merge is commutative,
associative and idempotent (hypothesis); epochs fence a reassigned holder before its TTL."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qfzz.network import (
    DHT_HEARTBEAT_INTERVAL,
    DHT_HEARTBEAT_MISS_THRESHOLD,
    DHT_LEASE_TTL,
    ConflictEntry,
    InvalidRecord,
    Lease,
    MalformedRecord,
    MetaRecord,
    MetaRegister,
    NodeIdentity,
    expired_holders,
    holder_may_serve,
    meta_key,
    reassign,
    reassign_dead,
    renew,
    take_over,
)

CONTENT = "c0" * 32
LEADERS = [NodeIdentity.from_seed(bytes([0x40 + i]) * 32) for i in range(3)]
H = [NodeIdentity.from_seed(bytes([0x60 + i]) * 32).node_id for i in range(6)]


def _logged(epoch: int) -> tuple[ConflictEntry, ...]:
    a, b = sorted(["a" * 64, "b" * 64])
    return (ConflictEntry(epoch, "two_leaders", a, b, LEADERS[0].node_id, LEADERS[1].node_id),)


def _pool_record(leader: int, epoch: int, revision: int, variant: int) -> MetaRecord:
    """Records with many ties: same epoch from different leaders (two_leaders), and one
    leader signing two different records at one (epoch, revision) (equivocation)."""
    lease = Lease(CONTENT, 0, H[variant], epoch, 100.0, 100.0 + DHT_LEASE_TTL, H[0])
    return MetaRecord.signed(
        LEADERS[leader],
        CONTENT,
        epoch=epoch,
        revision=revision,
        logical_counter=revision + variant,
        timestamp=50.0 * (revision % 2),
        leases=(lease,),
        conflict_log=_logged(epoch) if variant else (),
    )


POOL = [
    _pool_record(leader, epoch, revision, variant)
    for leader in range(3)
    for epoch in (1, 2, 3)
    for revision in (1, 2)
    for variant in (0, 1)
]  # 36 records: more than the register's 32 claims, so truncation is exercised
records = st.lists(st.sampled_from(POOL), max_size=24)


def register_of(items) -> MetaRegister:
    register = MetaRegister(CONTENT)
    for record in items:
        register.apply(record)
    return register


def merged(*registers: MetaRegister) -> MetaRegister:
    out = MetaRegister(CONTENT)
    for register in registers:
        out.merge(register)
    return out


# -- merge laws ------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(records, records)
def test_merge_is_commutative(a, b):
    left, right = register_of(a), register_of(b)
    assert merged(left, right).snapshot() == merged(right, left).snapshot()


@settings(max_examples=150, deadline=None)
@given(records, records, records)
def test_merge_is_associative(a, b, c):
    x, y, z = register_of(a), register_of(b), register_of(c)
    assert merged(merged(x, y), z).snapshot() == merged(x, merged(y, z)).snapshot()


@settings(max_examples=150, deadline=None)
@given(records)
def test_merge_is_idempotent(a):
    x = register_of(a)
    assert merged(x, x).snapshot() == x.snapshot()


@settings(max_examples=150, deadline=None)
@given(records, st.randoms(use_true_random=False))
def test_any_delivery_order_gives_the_same_state(items, rnd):
    shuffled = list(items)
    rnd.shuffle(shuffled)
    halves = merged(register_of(shuffled[::2]), register_of(shuffled[1::2]))
    assert register_of(items).snapshot() == register_of(shuffled).snapshot()
    assert halves.snapshot() == register_of(items).snapshot()


def test_conflicts_are_found_whatever_arrived_first():
    rival_a = _pool_record(0, 2, 1, 0)
    rival_b = _pool_record(1, 2, 1, 0)  # another leader, same epoch
    twin = _pool_record(0, 2, 1, 1)  # the first leader again, same (epoch, revision)
    winner = _pool_record(2, 3, 2, 0)
    for order in ([rival_a, rival_b, twin, winner], [winner, twin, rival_b, rival_a]):
        register = register_of(order)
        kinds = sorted(entry.kind for entry in register.conflicts() if entry.epoch == 2)
        assert kinds == ["equivocation", "two_leaders", "two_leaders", "two_leaders"]
        assert register.record == winner
    assert all(len(register_of([r]).conflicts()) == len(r.conflict_log) for r in POOL)


def test_higher_epoch_wins_over_a_runaway_logical_counter():
    old = MetaRecord.signed(
        LEADERS[0], CONTENT, epoch=1, revision=90, logical_counter=900, timestamp=9e3, leases=()
    )
    new = MetaRecord.signed(
        LEADERS[1], CONTENT, epoch=2, revision=1, logical_counter=1, timestamp=1.0, leases=()
    )
    assert register_of([new, old]).record == new
    assert register_of([old, new]).record == new


# -- records: signature and bounds -----------------------------------------------------------


def test_meta_record_round_trip_and_key():
    record = POOL[-1]
    again = MetaRecord.from_json(record.to_json())
    again.verify()
    assert again == record
    assert record.key == meta_key(CONTENT) == f"v1/meta/{CONTENT}"


@pytest.mark.parametrize(
    "changes", [{"epoch": 9}, {"revision": 7}, {"timestamp": 1.5}, {"conflict_log": []}]
)
def test_tampered_meta_record_is_refused(changes):
    record = POOL[-1]
    tampered = MetaRecord.from_json({**record.to_json(), **changes})
    with pytest.raises(InvalidRecord) as refused:
        MetaRegister(CONTENT).apply(tampered)
    assert refused.value.reason == "bad_signature"


def test_forged_or_foreign_records_are_refused():
    record = POOL[0]
    forged = dataclasses.replace(record, signature=LEADERS[1].sign(record.message()))
    with pytest.raises(InvalidRecord) as bad:
        forged.verify()
    assert bad.value.reason == "bad_signature"
    with pytest.raises(InvalidRecord) as foreign:
        MetaRegister("d0" * 32).apply(record)
    assert foreign.value.reason == "wrong_content"


def test_a_signer_the_caller_does_not_allow_to_lead_is_refused():
    allowed = {LEADERS[0].node_id}
    register = MetaRegister(CONTENT)
    assert register.apply(POOL[0], may_lead=allowed.__contains__)
    usurper = _pool_record(2, 3, 2, 0)
    with pytest.raises(InvalidRecord) as refused:
        register.apply(usurper, may_lead=allowed.__contains__)
    assert refused.value.reason == "not_leader"
    assert register.record == POOL[0]


def test_a_lease_above_the_record_epoch_is_refused():
    lease = Lease(CONTENT, 0, H[0], 5, 0.0, 600.0, LEADERS[0].node_id)
    with pytest.raises(InvalidRecord) as refused:
        MetaRecord.signed(
            LEADERS[0], CONTENT, epoch=4, revision=1, logical_counter=1, timestamp=0.0,
            leases=(lease,),
        )  # fmt: skip
    assert refused.value.reason == "bad_epoch"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("leases",), [POOL[0].leases[0].to_json()] * 17),
        (("leases", 0, "expires_at"), 100.0 + 3601.0),
        (("leases", 0, "expires_at"), 100.0),
        (("leases", 0, "slot"), 16),
        (("leases", 0, "epoch"), -1),
        (("conflict_log",), [_logged(1)[0].to_json()] * 17),
        (("epoch",), 2**60),
        (("timestamp",), float("inf")),
        (("leader",), "LEADER"),
    ],
)
def test_out_of_bounds_meta_fields_are_malformed(path, value):
    body = POOL[1].to_json()
    target = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    with pytest.raises(MalformedRecord):
        MetaRecord.from_json(body)


# -- fencing and the leader's operations -----------------------------------------------------


def _genesis(now: float = 0.0) -> MetaRecord:
    return take_over(LEADERS[0], CONTENT, now, holders=H[:3])


def test_genesis_grants_one_slot_per_holder_at_epoch_one():
    meta = _genesis()
    assert meta.epoch == 1 and meta.revision == 1
    assert [(lease.slot, lease.holder, lease.epoch) for lease in meta.leases] == [
        (0, H[0], 1),
        (1, H[1], 1),
        (2, H[2], 1),
    ]
    assert all(lease.expires_at == DHT_LEASE_TTL for lease in meta.leases)


def test_after_reassign_the_old_holder_is_fenced_before_its_ttl():
    meta = _genesis()
    old_lease = meta.lease_of(H[1])
    assert holder_may_serve(old_lease, meta, 200.0)
    after = reassign(LEADERS[0], meta, H[1], H[4], 200.0)
    assert after.epoch == meta.epoch + 1
    new_lease = after.lease_of(H[4])
    assert (new_lease.slot, new_lease.epoch) == (old_lease.slot, after.epoch)
    assert old_lease.expires_at > 200.0  # its TTL has not run out …
    assert not holder_may_serve(old_lease, after, 200.0)  # … but it is fenced
    assert holder_may_serve(new_lease, after, 200.0)
    assert holder_may_serve(new_lease, meta, 200.0)  # a stale view does not fence the new one
    assert holder_may_serve(after.lease_of(H[0]), after, 200.0)  # other slots untouched


def test_a_lease_ends_at_its_expiry_unless_renewed():
    meta = _genesis()
    lease = meta.lease_of(H[0])
    assert holder_may_serve(lease, meta, DHT_LEASE_TTL - 0.001)
    assert not holder_may_serve(lease, meta, DHT_LEASE_TTL)
    renewed = renew(LEADERS[0], meta, [H[0], H[5]], 500.0)
    assert renewed.epoch == meta.epoch and renewed.revision == meta.revision + 1
    assert renewed.lease_of(H[0]).expires_at == 500.0 + DHT_LEASE_TTL
    assert renewed.lease_of(H[1]) == meta.lease_of(H[1])
    assert renewed.lease_of(H[5]) is None  # a heartbeat alone earns no lease
    assert holder_may_serve(lease, renewed, DHT_LEASE_TTL + 1.0)  # the renewal extends it


def test_only_the_leader_changes_leases():
    meta = _genesis()
    for operation in (
        lambda: renew(LEADERS[1], meta, [H[0]], 10.0),
        lambda: reassign(LEADERS[1], meta, H[0], H[4], 10.0),
    ):
        with pytest.raises(InvalidRecord) as refused:
            operation()
        assert refused.value.reason == "not_leader"
    with pytest.raises(InvalidRecord) as not_holder:
        reassign(LEADERS[0], meta, H[5], H[4], 10.0)
    assert not_holder.value.reason == "not_a_holder"


def test_three_missed_heartbeats_expire_a_holder_at_exactly_180_s():
    meta = _genesis()
    limit = DHT_HEARTBEAT_MISS_THRESHOLD * DHT_HEARTBEAT_INTERVAL
    assert limit == 180.0
    beats = {H[0]: 1000.0, H[1]: 1100.0}  # H[2] never beat: counts from its grant at 0
    assert expired_holders(meta, 1000.0 + limit - 0.001, beats) == [H[2]]
    assert expired_holders(meta, 1000.0 + limit, beats) == sorted([H[0], H[2]])
    assert expired_holders(meta, 1100.0 + limit, beats) == sorted(H[:3])
    assert expired_holders(meta, limit - 0.001, {}) == []
    assert expired_holders(meta, limit, {}) == sorted(H[:3])
    assert expired_holders(meta, 99.999, {}, interval=10.0, misses=10) == []
    assert expired_holders(meta, 100.0, {}, interval=10.0, misses=10) == sorted(H[:3])


def test_a_holder_membership_declares_dead_is_reassigned_at_once():
    meta = _genesis()
    now = 5.0  # long before any heartbeat could be missed
    assert expired_holders(meta, now, {}) == []
    after = reassign_dead(LEADERS[0], meta, [H[2], H[5]], [H[0], H[3], H[4]], now)
    assert after.epoch == meta.epoch + 1
    assert after.lease_at(2).holder == H[3]  # H[0] already holds, so the next candidate
    assert not holder_may_serve(meta.lease_of(H[2]), after, now)
    assert reassign_dead(LEADERS[0], after, [H[5]], [H[4]], now) == after  # nothing held


def test_a_slot_with_no_candidate_left_is_vacated_and_fenced():
    meta = _genesis()
    after = reassign_dead(LEADERS[0], meta, [H[1]], [H[0]], 30.0)
    assert after.lease_at(1) is None and after.epoch == 2
    assert not holder_may_serve(meta.lease_of(H[1]), after, 30.0)


def test_a_new_leader_starts_above_every_epoch_it_has_seen_and_keeps_healthy_holders():
    meta = reassign(LEADERS[0], _genesis(), H[1], H[4], 100.0)  # epoch 2
    register = register_of([meta, POOL[0]])
    successor = take_over(
        LEADERS[1], CONTENT, 300.0, previous=register.record, holders=[H[5]],
        conflicts=register.conflicts(),
    )  # fmt: skip
    assert successor.epoch == 3 > meta.epoch
    assert successor.leader == LEADERS[1].node_id
    for lease in meta.leases:
        assert holder_may_serve(lease, successor, 300.0)
    assert successor.lease_of(H[5]).epoch == 3
    assert register_of([successor, meta]).record == successor
    assert renew(LEADERS[1], successor, [H[0]], 310.0).lease_of(H[0]).leader == LEADERS[1].node_id


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["renew", "dead", "lead"]), st.integers(0, 5))))
def test_epochs_only_grow_and_fenced_leases_stay_fenced(steps):
    leader = 0
    meta = _genesis()
    now = 0.0
    seen: list[Lease] = list(meta.leases)
    for op, who in steps:
        now += 61.0
        previous = meta
        if op == "renew":
            meta = renew(LEADERS[leader], meta, [H[who]], now)
        elif op == "dead":
            meta = reassign_dead(LEADERS[leader], meta, [H[who]], H, now)
        else:
            leader = (leader + 1) % 3
            meta = take_over(LEADERS[leader], CONTENT, now, previous=meta)
        assert meta.epoch >= previous.epoch
        assert register_of([meta, previous]).record == meta
        seen.extend(meta.leases)
        for lease in seen:
            current = meta.lease_at(lease.slot)
            if current is not None and current.epoch > lease.epoch:
                assert not holder_may_serve(lease, meta, now)
