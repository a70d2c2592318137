"""The overlay bench's replication section, small: every crashed node's content is back to
R copies no sooner than its leader marks the crash dead plus the modelled transfer, the
design's 3 missed heartbeats take minutes where SWIM takes seconds, and the churn count's
shortcut (placing again only the items an event can touch) ends where placing every item
over the final nodes ends, with leader changes that are neither none nor more than
possible."""

from __future__ import annotations

import math

import pytest

from qfzz.network import (
    DHT_HEARTBEAT_INTERVAL,
    DHT_HEARTBEAT_MISS_THRESHOLD,
    Placement,
    place,
)


def test_re_replication_follows_the_leaders_own_view_of_the_crash(overlay_bench):
    overlay = overlay_bench
    transfer = overlay.Transfer(size=2e6, bandwidth=1e6, rtt=0.2)
    figures = overlay.rereplication_run(
        60, 240, seed=3, loss=0.1, crashes=3, asns=8, octets=10, transfer=transfer
    )
    assert len(figures) == 3
    design_floor = (DHT_HEARTBEAT_MISS_THRESHOLD - 1) * DHT_HEARTBEAT_INTERVAL
    for crash in figures:
        assert crash.moves and len(crash.moves) == len(crash.design)
        assert math.isfinite(crash.detection)
        for move in crash.moves:
            assert move.leader != crash.victim and move.new_holder != crash.victim
            assert math.isfinite(move.leader_dead) and move.leader_dead <= crash.detection
            assert move.done >= move.leader_dead + transfer.fetch()
        assert crash.rereplication >= max(m.leader_dead for m in crash.moves) + transfer.fetch()
        assert crash.rereplication < crash.design_rereplication
        assert all(m.done >= design_floor + transfer.fetch() for m in crash.design)


def _placed(*holders: str) -> Placement:
    return Placement("f" * 64, 0, holders, holders, min(holders), True, len(holders))


def test_a_newcomer_leader_waits_for_a_surviving_holder_to_hand_it_the_records(overlay_bench):
    overlay = overlay_bench
    transfer = overlay.Transfer(size=1e6, bandwidth=1e6, rtt=0.2)
    tick = overlay.TICK_SOON
    victim, newcomer, b, c = "1" * 64, "2" * 64, "3" * 64, "4" * 64
    dead = {newcomer: 5.0, b: 9.0, c: 12.0}.__getitem__
    move = overlay.rereplicate(
        _placed(victim, b, c), _placed(b, c, newcomer), victim, dead, transfer
    )
    assert (move.leader, move.new_holder, move.leader_dead) == (newcomer, newcomer, 5.0)
    assert move.done == pytest.approx(9.0 + tick + 0.1 + tick + transfer.fetch())
    # the leader survives: it acts on its own view, then the new holder gets the lease
    kept = overlay.rereplicate(
        _placed(b, victim, c), _placed(b, c, "5" * 64), victim, dead, transfer
    )
    assert (kept.leader, kept.new_holder) == (b, "5" * 64)
    assert kept.done == pytest.approx(9.0 + tick + 0.1 + tick + transfer.fetch())


def test_churn_counts_match_placing_everything_again(overlay_bench):
    overlay = overlay_bench
    items = 300
    run = overlay.churn_run(80, items, seed=2, asns=8, octets=10, hours=1.0)
    assert {e.kind for e in run.events} == {"join", "leave"}
    assert len(run.final) == 80
    assert run.placements == {c: place(c, run.final) for c in run.placements}
    changes = sum(run.leaders.values())
    assert 0 < changes <= items * len(run.events)
    assert sum(run.added.values()) >= changes  # a new smallest holder: a new holder set
    assert run.items_with_change <= changes
    # the leases as Replicas._lead keeps them: R or more, all on nodes still present
    present = set(run.final.node_ids)
    assert all(len(held) >= 3 and held <= present for held in run.leases.values())
    assert run.fetched["leave"] > 0 and run.fetched["join"] < run.added["join"]
