"""Faults: the Redis backend's server dies mid-workload, or is down from the start.

The queue borrows the cache's server and circuit breaker (``qfzz.cache.server_link``):
while the circuit is open, jobs go to the durable job store and come back from there;
when the server is back, acks made meanwhile are replayed and jobs a restarted server
forgot are queued again from their parked records. Nothing here sleeps to let time pass.
"""

from __future__ import annotations

import shutil
import socket

import pytest

from qfzz.cache import CacheServices, open_cache, server_link
from qfzz.jobs import JobQueue, open_queue
from qfzz.models import Track, TrackMeta


def track(n: int) -> Track:
    return Track(n, TrackMeta(f"Song {n}", "Artist"), playable=True)


def queue_over(cache, job_store, clock) -> JobQueue:
    return open_queue(
        "scan",
        store=job_store,
        clock=clock,
        codec=cache.codec,
        server=server_link(cache, "jobs"),
        visibility=60.0,
        max_attempts=3,
    )


def _workload(url, clock, job_store, server, *, lose_data: bool):
    cache = open_cache(url, clock=clock, prefix="fault:", strict=True)
    services = CacheServices.build(cache)
    jobs = queue_over(cache, job_store, clock)
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
            clock.advance(60)  # past any backoff
        track_id = step % 7
        try:
            assert services.tracks.get(track_id, lambda i: track(i)) == track(track_id)
            queued.append(jobs.put({"step": step}))
        except Exception:
            failures += 1
        clock.advance(0.01)
    clock.advance(60)
    services.tracks.get(0, lambda i: track(0))  # a probe, if the circuit is still open
    return cache, jobs, failures, queued


@pytest.mark.parametrize("lose_data", [False, True], ids=["server-kept-data", "server-lost-data"])
def test_killing_the_server_mid_workload_fails_no_call_and_loses_no_job(
    own_redis, clock, job_store, lose_data
):
    cache, jobs, failures, queued = _workload(
        own_redis.url, clock, job_store, own_redis, lose_data=lose_data
    )
    try:
        assert failures == 0
        assert cache.circuit_state == "closed"
        assert cache.stats()["circuit_opened"] >= 1
        assert cache.stats()["journal"] == 0
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


def test_jobs_made_while_the_server_is_down_from_the_start_go_to_the_store(clock, job_store):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cache = open_cache(f"redis://127.0.0.1:{port}/0", clock=clock)
    try:
        jobs = queue_over(cache, job_store, clock)
        for _ in range(3):  # three failures open the circuit
            jobs.put("opens it")
        assert cache.circuit_state == "open"
        job_id = jobs.put("still queued")
        assert [jobs.take().payload for _ in range(3)] == ["opens it"] * 3
        last = jobs.take()
        assert last is not None and last.job_id == job_id and last.source == "store"
        jobs.ack(last)
        assert job_store.counts("scan", now=clock())["taken"] == 3
    finally:
        cache.close()
