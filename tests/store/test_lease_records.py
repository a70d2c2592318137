"""Leases with a fencing epoch on SQLite and PostgreSQL, on an injected clock."""

from __future__ import annotations

import threading

import pytest


def test_one_holder_at_a_time_and_a_new_epoch_for_each_new_holder(store):
    leases = store.leases
    first = leases.acquire("mount:main", "p1", now=100.0, ttl=5.0)
    assert first is not None and first.epoch == 1 and first.expires_at == 105.0
    assert leases.acquire("mount:main", "p2", now=101.0, ttl=5.0) is None  # p1 holds it
    renewed = leases.acquire("mount:main", "p1", now=104.0, ttl=5.0)
    assert renewed is not None and renewed.epoch == 1 and renewed.expires_at == 109.0
    assert leases.acquire("mount:main", "p2", now=108.9, ttl=5.0) is None
    # p1 stalls past its expiry: p2 takes over, one epoch on
    taken = leases.acquire("mount:main", "p2", now=109.0, ttl=5.0)
    assert taken is not None and taken.epoch == 2
    current = leases.current("mount:main", now=110.0)
    assert current is not None and (current.holder, current.epoch) == ("p2", 2)
    # the stalled holder comes back: not renewed, and its epoch no longer holds
    assert leases.acquire("mount:main", "p1", now=110.0, ttl=5.0) is None
    assert leases.release(first, now=110.0) is False  # an old epoch cannot release it
    assert leases.current("mount:main", now=110.0) == current
    # other names are other leases
    other = leases.acquire("miner", "p1", now=110.0, ttl=5.0)
    assert other is not None and other.epoch == 1


def test_a_released_lease_is_taken_at_once_with_the_next_epoch(store):
    leases = store.leases
    held = leases.acquire("miner", "p1", now=0.0, ttl=60.0)
    assert held is not None
    assert leases.release(held, now=10.0) is True
    assert leases.current("miner", now=10.0) is None
    taken = leases.acquire("miner", "p2", now=10.0, ttl=60.0)
    assert taken is not None and taken.epoch == 2
    # a holder taking its own lease again after it ran out also starts a new epoch
    again = leases.acquire("miner", "p2", now=71.0, ttl=60.0)
    assert again is not None and again.epoch == 3


def test_a_lease_needs_a_positive_ttl(store):
    with pytest.raises(ValueError):
        store.leases.acquire("miner", "p1", now=0.0, ttl=0.0)


def test_of_many_processes_taking_one_lease_at_once_exactly_one_gets_it(store):
    got: list[object] = []
    start = threading.Barrier(8)

    def take(n: int) -> None:
        start.wait()
        got.append(store.leases.acquire("mount:main", f"p{n}", now=50.0, ttl=5.0))

    threads = [threading.Thread(target=take, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    winners = [lease for lease in got if lease is not None]
    assert len(got) == 8 and len(winners) == 1
    assert store.leases.current("mount:main", now=50.0) == winners[0]
