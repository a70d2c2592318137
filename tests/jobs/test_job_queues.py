"""Reliable job queues, on both backends: the job store alone, and Redis in front of it."""

from __future__ import annotations

import threading

import pytest

from qfzz.cache import Codec, UnserializableValue
from qfzz.jobs import JobQueue, MemoryJobStore, RedisQueue, StoreQueue, open_queue


def test_jobs_come_out_in_order_and_acked_jobs_leave(make_queue):
    jobs = make_queue()
    ids = [jobs.put({"path": f"/music/{n}"}) for n in range(3)]
    taken = [jobs.take() for _ in range(3)]
    assert [j.job_id for j in taken] == ids
    assert [j.payload for j in taken] == [{"path": f"/music/{n}"} for n in range(3)]
    assert jobs.take() is None
    for job in taken:
        jobs.ack(job)
    assert jobs.counts() == {"ready": 0, "taken": 0, "dead": 0}


def test_a_taken_job_is_invisible_to_other_workers_until_it_times_out(make_queue, clock):
    first, second = make_queue(), make_queue()
    first.put("work")
    assert first.take() is not None
    assert second.take() is None
    clock.advance(29)
    assert second.take() is None


def test_a_worker_that_dies_holding_a_job_has_it_redone_once_and_not_after_ack(make_queue, clock):
    dying, healthy = make_queue(), make_queue()
    job_id = dying.put({"scan": "/music"})
    held = dying.take()
    assert held is not None and held.attempt == 1  # …and its worker dies: no ack
    assert healthy.take() is None
    clock.advance(31)
    redo = healthy.take()
    assert redo is not None and redo.job_id == job_id and redo.attempt == 2
    healthy.ack(redo)
    clock.advance(3600)
    assert healthy.take() is None
    assert dying.take() is None
    assert healthy.counts() == {"ready": 0, "taken": 0, "dead": 0}


def test_poison_jobs_move_to_the_dead_letters_after_max_attempts(make_queue, clock):
    jobs = make_queue(max_attempts=3)
    job_id = jobs.put("poison")
    jobs.put("fine")
    seen = []
    for _ in range(3):
        job = jobs.take()
        while job is not None and job.payload == "fine":
            jobs.ack(job)
            job = jobs.take()
        assert job is not None
        seen.append(job.attempt)
        jobs.fail(job, "decoder crashed")
    assert seen == [1, 2, 3]
    rest = jobs.take()  # "fine" may not have come up yet: order after a retry is not fixed
    if rest is not None:
        assert rest.payload == "fine"
        jobs.ack(rest)
    assert jobs.take() is None
    dead = jobs.dead()
    assert [(d.job_id, d.payload, d.error) for d in dead] == [(job_id, "poison", "decoder crashed")]
    assert jobs.counts()["dead"] == 1
    assert jobs.retry_dead(job_id)
    assert jobs.take().job_id == job_id


def test_timeouts_count_as_attempts_too(make_queue, clock):
    jobs = make_queue(max_attempts=2)
    jobs.put("hangs")
    for _ in range(2):
        assert jobs.take() is not None
        clock.advance(31)
    assert jobs.take() is None
    assert [d.payload for d in jobs.dead()] == ["hangs"]


def test_a_late_fail_does_not_steal_a_job_redone_by_another_worker(make_queue, clock):
    jobs = make_queue()
    jobs.put("x")
    stale = jobs.take()
    clock.advance(31)
    fresh = jobs.take()
    jobs.fail(stale, "too late")
    assert jobs.take() is None  # still leased to the fresh worker
    jobs.ack(fresh)
    assert jobs.counts()["ready"] == 0


def test_a_late_ack_does_not_end_a_job_handed_out_again(make_queue, clock):
    jobs = make_queue()
    jobs.put("x")
    stale = jobs.take()  # this worker stalls past its hand-out
    clock.advance(31)
    fresh = jobs.take()
    assert stale is not None and fresh is not None and fresh.job_id == stale.job_id
    jobs.ack(stale)  # back from its stall, too late: the job is the fresh worker's now
    clock.advance(31)  # the fresh worker dies too: the job was not lost with the late ack
    again = jobs.take()
    assert again is not None and again.job_id == stale.job_id
    jobs.ack(again)
    clock.advance(31)
    assert jobs.take() is None  # done, once


def test_a_worker_extending_its_hand_out_keeps_a_long_job(make_queue, clock):
    jobs = make_queue()
    jobs.put("long")
    job = jobs.take()
    for _ in range(3):  # alive and working: each time within the 30 s hand-out
        clock.advance(20)
        job = jobs.extend(job)
        assert job is not None
    clock.advance(20)  # 80 s since it was taken, 20 s since its last extension
    assert jobs.take() is None  # nobody else gets it
    jobs.ack(job)
    clock.advance(100)
    assert jobs.take() is None  # done, once


def test_a_hand_out_that_ran_out_cannot_be_extended(make_queue, clock):
    jobs = make_queue()
    jobs.put("x")
    stale = jobs.take()
    clock.advance(31)
    fresh = jobs.take()
    assert stale is not None and fresh is not None
    assert jobs.extend(stale) is None  # another worker has it: the stale one must stop
    jobs.ack(fresh)
    clock.advance(100)
    assert jobs.take() is None


def test_concurrent_workers_get_each_job_exactly_once(make_queue):
    producer = make_queue()
    ids = {producer.put(n) for n in range(60)}
    workers = [make_queue() for _ in range(4)]
    got: list[str] = []
    lock = threading.Lock()

    def work(q: JobQueue) -> None:
        while (job := q.take()) is not None:
            with lock:
                got.append(job.job_id)
            q.ack(job)

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == sorted(ids)


def test_an_unserializable_payload_is_refused_at_put(make_queue):
    with pytest.raises(UnserializableValue):
        make_queue().put(object())


def test_the_backend_follows_the_server_link(make_queue, backend_kind):
    expected = StoreQueue if backend_kind == "embedded" else RedisQueue
    assert type(make_queue()) is expected


def test_embedded_jobs_survive_a_restart(job_store, clock):
    before = StoreQueue("scan", job_store, clock=clock, codec=Codec(), visibility=30.0)
    job_id = before.put({"import": "fma"})
    assert before.take() is not None  # the process dies holding the job
    after = StoreQueue("scan", job_store, clock=clock, codec=Codec(), visibility=30.0)
    clock.advance(31)
    redo = after.take()
    assert redo is not None and redo.job_id == job_id and redo.payload == {"import": "fma"}


def test_a_queue_without_a_durable_store_says_its_jobs_die_with_the_process(clock, caplog):
    jobs = open_queue("scan", store=None, clock=clock, codec=Codec())
    assert "no durable job store" in caplog.text
    job_id = jobs.put("kept in memory")
    assert jobs.take().job_id == job_id
    assert isinstance(jobs, StoreQueue) and isinstance(jobs.store, MemoryJobStore)
