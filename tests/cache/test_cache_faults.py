"""Faults: a cache server that fails, dies mid-workload and comes back.

Nothing here sleeps to let time pass: the breaker's backoff follows the fake clock. The
only real waits are for a killed server's restart and for pub/sub messages to arrive.
"""

from __future__ import annotations

import socket
import uuid

import pytest

from qfzz.cache import (
    Backend,
    BackendUnavailable,
    Cache,
    CacheServices,
    CircuitBreaker,
    MemoryBackend,
    open_cache,
)
from qfzz.models import Track, TrackMeta


def track(n: int, title: str = "Song") -> Track:
    return Track(n, TrackMeta(f"{title} {n}", "Artist"), playable=True)


class FlakyBackend(Backend):
    """A shared backend (an embedded one underneath) that can be switched off."""

    shared = True

    def __init__(self, clock) -> None:
        self.inner = MemoryBackend(clock)
        self.down = False
        self.calls = 0

    def execute(self, commands, *, atomic=True):
        self.calls += 1
        if self.down:
            raise BackendUnavailable("connection refused")
        return self.inner.execute(commands, atomic=atomic)

    def delete_matching(self, prefix, pattern):
        self.calls += 1
        if self.down:
            raise BackendUnavailable("connection refused")
        return self.inner.delete_matching(prefix, pattern)


def test_breaker_opens_after_n_failures_and_backs_off_longer_each_time(clock):
    breaker = CircuitBreaker(clock, failure_threshold=3, base_backoff=1.0, max_backoff=4.0)
    for _ in range(2):
        breaker.failure()
    assert breaker.allow()
    breaker.failure()
    assert breaker.state == "open" and not breaker.allow()
    clock.advance(1.0)
    assert breaker.allow() and breaker.state == "half_open"
    assert not breaker.allow()  # only one probe at a time
    breaker.failure()
    clock.advance(1.5)
    assert not breaker.allow()  # the backoff doubled to 2 s
    clock.advance(0.5)
    assert breaker.allow()
    breaker.failure()
    clock.advance(4.0)
    assert breaker.allow()  # capped at 4 s
    assert breaker.success() and breaker.state == "closed"


def test_an_open_circuit_never_calls_the_server_and_requests_go_on(clock):
    backend = FlakyBackend(clock)
    cache = Cache(backend, clock=clock, l1=MemoryBackend(clock), breaker=CircuitBreaker(clock))
    services = CacheServices.build(cache)
    services.tracks.get(1, lambda i: track(1))  # cached in L1 and on the server
    backend.down = True
    cache.l1.clear()
    for n in (2, 3):  # a lookup and a write each: the third failure opens the circuit
        assert services.tracks.get(n, lambda i: track(i)) == track(n)
    assert cache.circuit_state == "open"
    calls = backend.calls
    for n in range(100):
        assert services.tracks.get(n, lambda i: track(i)) == track(n)
        services.tracks.invalidate([n])  # journaled, not sent
    assert backend.calls == calls  # no PING, no connect attempt while open
    assert cache.stats()["namespaces"]["track"]["skipped"] > 0


def test_removals_made_while_open_are_replayed_when_the_server_is_back(clock):
    backend = FlakyBackend(clock)
    cache = Cache(backend, clock=clock, l1=MemoryBackend(clock), breaker=CircuitBreaker(clock))
    services = CacheServices.build(cache)
    services.tracks.get(5, lambda i: track(5, "Old"))
    services.search.get("q", None, (10, 0), lambda: [1])
    backend.down = True
    for n in range(3):  # three failures open the circuit
        services.tracks.get(100 + n, lambda i: track(i))
    services.tracks.invalidate([5])  # journaled
    services.search.clear()  # journaled too
    assert cache.stats()["journal"] == 2
    backend.down = False
    clock.advance(cache.breaker.retry_at - clock())
    assert services.tracks.get(6, lambda i: track(6)) == track(6)  # the probe: closes
    assert cache.circuit_state == "closed" and cache.stats()["journal"] == 0
    assert backend.inner.get_fast(services.tracks.key(5)) is None  # deleted on the server
    assert services.tracks.get(5, lambda i: track(5, "New")).title == "New 5"
    assert services.search.get("q", None, (10, 0), lambda: [2]) == [2]


def test_l1_invalidations_reach_the_other_process(redis_url, clock):
    prefix = f"l1-test-{uuid.uuid4().hex[:8]}:"
    first = open_cache(redis_url, clock=clock, prefix=prefix, strict=True)
    second = open_cache(redis_url, clock=clock, prefix=prefix, strict=True)
    try:
        assert first.wait_subscribed(5) and second.wait_subscribed(5)
        a, b = CacheServices.build(first), CacheServices.build(second)
        a.tracks.get(1, lambda i: track(1, "Old"))
        b.tracks.get(1, lambda i: pytest.fail("the server has it"))
        b.tracks.get(1, lambda i: pytest.fail("the server has it"))
        assert second.stats()["namespaces"]["track"]["l1_hits"] == 1
        a.tracks.invalidate([1])
        assert second.wait_for_invalidations(1)
        assert b.tracks.get(1, lambda i: track(1, "New")).title == "New 1"
        a.tracks.get(2, lambda i: track(2))
        b.tracks.get(2, lambda i: pytest.fail("the server has it"))
        first.clear_namespace("track")
        assert second.wait_for_invalidations(2)
        assert b.tracks.get(2, lambda i: track(2, "Reloaded")).title == "Reloaded 2"
    finally:
        first.clear_namespace("track")
        first.close()
        second.close()


def test_a_resubscribed_process_drops_its_whole_l1(own_redis, clock):
    cache = open_cache(own_redis.url, clock=clock, prefix="resub:", strict=True)
    try:
        assert cache.wait_subscribed(5)
        CacheServices.build(cache).tracks.get(1, lambda i: track(1))
        assert len(cache.l1) == 1
        own_redis.kill()
        own_redis.start()
        deadline = 50
        while len(cache.l1) and deadline:  # the subscriber reconnects on its own thread
            cache.wait_subscribed(0.1)
            deadline -= 1
        assert len(cache.l1) == 0
    finally:
        cache.close()


def test_a_server_that_is_down_from_the_start_only_opens_the_circuit(clock):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cache = open_cache(f"redis://127.0.0.1:{port}/0", clock=clock)
    try:
        services = CacheServices.build(cache)
        for n in range(20):
            assert services.tracks.get(n, lambda i: track(i)) == track(n)
            services.tracks.invalidate([n])
        assert cache.circuit_state == "open"
        stats = cache.stats()
        assert stats["namespaces"]["track"]["errors"] <= 3  # then it stopped trying
        assert stats["namespaces"]["track"]["skipped"] > 0
    finally:
        cache.close()
