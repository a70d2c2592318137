"""The SWIM guard: what a member relays about a third node must be that node's own word
(alive above incarnation 0: its signature), at its own address, and no accusation may
out-bid what an honest accuser could hold."""

from __future__ import annotations

import dataclasses

from qfzz.network import (
    MemberRecord,
    MemberSet,
    NodeIdentity,
    NodeInfo,
    SwimGossip,
    SwimPushPull,
    SwimState,
    Update,
    sign_alive,
)
from qfzz.overlay import SwimGuard

ME = NodeIdentity.from_seed(b"\x21" * 32)
X = NodeIdentity.from_seed(b"\x22" * 32)
LIAR = NodeIdentity.from_seed(b"\x23" * 32)
X_HOST = "http://x.example:8000"


class Detector:
    def __init__(self, held: dict[str, int]) -> None:
        self.held = held

    def incarnation_of(self, node_id: str) -> int | None:
        return self.held.get(node_id)


def _guard(*known: NodeIdentity) -> SwimGuard:
    members = MemberSet()
    for identity in known:
        info = NodeInfo.of(identity, X_HOST if identity is X else "http://other.example:1")
        members.apply(
            MemberRecord.signed(
                identity, info, "alive", incarnation=0, logical_counter=1, timestamp=1.0
            )
        )
    return SwimGuard(ME, members.get)


def _alive(incarnation, proof=b"", address=X_HOST):
    return Update(X.node_id, address, incarnation, SwimState.ALIVE, LIAR.node_id, proof)


def _kept(guard, *updates, held=None, own=0):
    message, unknown = guard.incoming(SwimGossip(tuple(updates)), Detector(held or {}), own)
    return list(message.updates), unknown


def test_an_alive_update_above_zero_needs_its_subjects_signature():
    guard = _guard(X)
    assert _kept(guard, _alive(7))[0] == []  # a relay inflating X's incarnation
    forged = sign_alive(LIAR, X_HOST, 7)  # signed, but not by X
    assert _kept(guard, _alive(7, forged))[0] == []
    proven = _alive(7, sign_alive(X, X_HOST, 7))
    assert _kept(guard, proven)[0] == [proven]
    assert _kept(guard, _alive(0))[0] == [_alive(0)]  # incarnation 0 has nothing to inflate
    assert guard.dropped == 2


def test_a_proof_for_one_incarnation_does_not_prove_another():
    guard = _guard(X)
    moved = dataclasses.replace(_alive(8), proof=sign_alive(X, X_HOST, 7))
    assert _kept(guard, moved)[0] == []


def test_an_update_at_an_address_the_record_does_not_name_is_dropped():
    guard = _guard(X)
    elsewhere = X_HOST.replace("x.example", "evil.example")
    assert _kept(guard, _alive(0, address=elsewhere))[0] == []


def test_an_alive_update_about_an_unknown_node_is_held_back_for_a_handshake():
    guard = _guard()
    update = _alive(3, sign_alive(X, X_HOST, 3))
    kept, unknown = _kept(guard, update)
    assert kept == [] and unknown == [update]


def test_accusations_above_what_an_honest_accuser_holds_are_dropped():
    guard = _guard(X)
    held = {X.node_id: 4}

    def accuse(node_id, incarnation, state=SwimState.DEAD):
        return Update(node_id, X_HOST, incarnation, state, LIAR.node_id)

    assert _kept(guard, accuse(X.node_id, 5), held=held)[0] == [accuse(X.node_id, 5)]
    assert _kept(guard, accuse(X.node_id, 6), held=held)[0] == []
    assert _kept(guard, accuse(X.node_id, 2**53, SwimState.SUSPECT), held=held)[0] == []
    me = Update(ME.node_id, "http://me.example:1", 99, SwimState.DEAD, LIAR.node_id)
    assert _kept(guard, me, own=3)[0] == []  # we could never refute that one


def test_outgoing_alive_updates_are_proven_or_left_out():
    guard = _guard(X)
    mine = Update(ME.node_id, "http://me.example:1", 2, SwimState.ALIVE, ME.node_id)
    theirs = Update(X.node_id, X_HOST, 5, SwimState.ALIVE, ME.node_id)
    sent = guard.outgoing(SwimPushPull((mine, theirs), reply=False))
    assert [u.node_id for u in sent.members] == [ME.node_id]  # X's is unproven: left out
    assert sent.members[0].proof == sign_alive(ME, "http://me.example:1", 2)
    # once X's own proof has been received, the detector's proof-less copy is sent proven
    _kept(guard, _alive(5, sign_alive(X, X_HOST, 5)))
    sent = guard.outgoing(SwimGossip((theirs,)))
    assert sent.updates[0].proof == sign_alive(X, X_HOST, 5)
