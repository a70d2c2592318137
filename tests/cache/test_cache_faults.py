"""Faults: a cache server that fails, dies mid-workload and comes back.

Nothing here sleeps to let time pass: the breaker's backoff follows the fake clock. The
only real waits are for a killed server's restart and for pub/sub messages to arrive.
"""

from __future__ import annotations

import shutil
import socket
import uuid
from collections import Counter

import pytest

from qfzz.cache import (
    BackendUnavailable,
    Cache,
    CacheServices,
    CircuitBreaker,
    JobQueue,
    MemoryBackend,
    open_cache,
)
from qfzz.cache._backend import Backend
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
        services.plays.record(1, "alice")
    assert backend.calls == calls  # no PING, no connect attempt while open
    assert cache.stats()["namespaces"]["track"]["skipped"] > 0


def test_writes_made_while_open_are_replayed_when_the_server_is_back(clock):
    backend = FlakyBackend(clock)
    cache = Cache(backend, clock=clock, l1=MemoryBackend(clock), breaker=CircuitBreaker(clock))
    services = CacheServices.build(cache)
    assert services.plays.track(1, lambda i: 10) == 10
    services.tracks.get(5, lambda i: track(5, "Old"))
    backend.down = True
    for _ in range(3):
        services.plays.record(1, "alice")  # three failures open the circuit
    for _ in range(4):
        services.plays.record(1, "alice")  # journaled
    services.tracks.invalidate([5])  # journaled too
    assert cache.stats()["journal"] > 0
    backend.down = False
    clock.advance(cache.breaker.retry_at - clock())
    assert services.tracks.get(6, lambda i: track(6)) == track(6)  # the probe: closes
    assert cache.circuit_state == "closed" and cache.stats()["journal"] == 0
    assert services.plays.track(1, lambda i: -1) == 17
    assert services.tracks.get(5, lambda i: track(5, "New")).title == "New 5"


def _workload(url, tmp_clock, job_store, server, *, lose_data: bool):
    cache = open_cache(url, clock=tmp_clock, job_store=job_store, prefix="fault:", strict=True)
    services = CacheServices.build(cache)
    jobs = JobQueue(cache, "scan", visibility=60.0, max_attempts=3)
    truth: Counter[int] = Counter()  # the store: plays recorded per track
    failures = 0
    queued: list[str] = []
    steps = 300
    for step in range(steps):
        if step == steps // 3:
            server.kill()
        if step == 2 * steps // 3:
            if lose_data:
                shutil.rmtree(server.workdir / "appendonlydir", ignore_errors=True)
            server.start()
            tmp_clock.advance(60)  # past any backoff
        track_id = step % 7
        try:
            truth[track_id] += 1
            services.plays.record(track_id, f"user{step % 3}")
            services.recent.push(f"user{step % 3}", track_id)
            assert services.tracks.get(track_id, lambda i: track(i)) == track(track_id)
            assert services.plays.track(track_id, lambda i: truth[i]) >= 0
            queued.append(jobs.put({"step": step}))
        except Exception:
            failures += 1
        tmp_clock.advance(0.01)
    tmp_clock.advance(60)
    services.tracks.get(0, lambda i: track(0))  # a probe, if the circuit is still open
    return cache, services, jobs, truth, failures, queued


@pytest.mark.parametrize("lose_data", [False, True], ids=["server-kept-data", "server-lost-data"])
def test_killing_the_server_mid_workload_fails_no_call_and_counts_stay_right(
    own_redis, clock, job_store, lose_data
):
    cache, services, jobs, truth, failures, queued = _workload(
        own_redis.url, clock, job_store, own_redis, lose_data=lose_data
    )
    try:
        assert failures == 0
        assert cache.circuit_state == "closed"
        assert cache.stats()["circuit_opened"] >= 1
        assert cache.stats()["journal"] == 0
        counts = services.plays.tracks(list(truth), lambda ids: {i: truth[i] for i in ids})
        assert counts == dict(truth)
        done: list[str] = []
        while (job := jobs.take()) is not None:
            done.append(job.job_id)
            jobs.ack(job)
        assert len(done) == len(set(done))  # none twice
        # every job once, none lost: jobs a restarted server forgot were queued again from
        # their parked records in the store
        assert sorted(done) == sorted(queued)
        assert job_store.counts("scan", now=clock())["ready"] == 0
        assert job_store.parked("scan", before=clock()) == []  # every ack removed its record
    finally:
        cache.close()


def test_l1_invalidations_reach_the_other_process(redis_url, clock):
    prefix = f"l1-test-{uuid.uuid4().hex[:8]}:"
    first = open_cache(redis_url, clock=clock, prefix=prefix, strict=True)
    second = open_cache(redis_url, clock=clock, prefix=prefix, strict=True)
    try:
        assert first._bus.subscribed.wait(5) and second._bus.subscribed.wait(5)
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
        assert cache._bus.subscribed.wait(5)
        CacheServices.build(cache).tracks.get(1, lambda i: track(1))
        assert len(cache.l1) == 1
        own_redis.kill()
        own_redis.start()
        deadline = 50
        while len(cache.l1) and deadline:  # the subscriber reconnects on its own thread
            cache._bus.subscribed.wait(0.1)
            deadline -= 1
        assert len(cache.l1) == 0
    finally:
        cache.close()


def test_device_queue_writes_and_acks_made_while_open_are_replayed(clock):
    backend = FlakyBackend(clock)
    cache = Cache(backend, clock=clock, l1=MemoryBackend(clock), breaker=CircuitBreaker(clock))
    devices = CacheServices.build(cache).devices
    devices.reset("phone")
    first = devices.push("phone", "a")
    backend.down = True
    for _ in range(3):
        assert not devices.pull("phone").available  # opens the circuit
    second = devices.push("phone", "b")
    devices.ack("phone", [first])
    backend.down = False
    clock.advance(cache.breaker.retry_at - clock())
    devices.pull("phone")  # the probe: it closes the circuit, then the journal is replayed
    batch = devices.pull("phone")
    assert batch.available and not batch.resync
    assert [(i.item_id, i.change) for i in batch.items] == [(second, "b")]


def test_a_server_that_is_down_from_the_start_only_opens_the_circuit(clock, job_store):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cache = open_cache(f"redis://127.0.0.1:{port}/0", clock=clock, job_store=job_store)
    try:
        services = CacheServices.build(cache)
        for n in range(20):
            assert services.tracks.get(n, lambda i: track(i)) == track(n)
            services.plays.record(n, "alice")
        assert services.plays.track(3, lambda i: 7) == 7
        assert cache.circuit_state == "open"
        stats = cache.stats()
        assert stats["namespaces"]["track"]["errors"] <= 3  # then it stopped trying
        assert stats["namespaces"]["track"]["skipped"] > 0
        jobs = services.jobs("scan")
        job_id = jobs.put("still queued")
        assert jobs.take().job_id == job_id  # from the durable job store
    finally:
        cache.close()
