"""The durable job table, on SQLite and PostgreSQL: parked records of server-held jobs."""

from __future__ import annotations


def test_parked_jobs_are_never_handed_out_or_counted_until_unparked(store):
    jobs = store.jobs
    jobs.add("scan", "on-server", '{"a":1}', now=10.0, parked=True)
    jobs.add("scan", "here", '{"b":2}', now=11.0)
    assert jobs.counts("scan", now=20.0) == {"ready": 1, "taken": 0, "dead": 0}
    taken = jobs.claim("scan", now=20.0, visibility=30.0, max_attempts=3)
    assert taken is not None and taken.job_id == "here"
    assert jobs.claim("scan", now=20.0, visibility=30.0, max_attempts=3) is None
    assert [j.job_id for j in jobs.parked("scan", before=10.0)] == ["on-server"]
    assert jobs.parked("scan", before=9.9) == []  # too recent to be looked at
    assert jobs.unpark("scan", "on-server", now=21.0)
    assert not jobs.unpark("scan", "on-server", now=21.0)
    again = jobs.claim("scan", now=21.0, visibility=30.0, max_attempts=3)
    assert again is not None and again.job_id == "on-server" and again.payload == '{"a":1}'


def test_the_ack_of_a_server_job_removes_its_parked_record(store):
    jobs = store.jobs
    jobs.add("scan", "j1", "{}", now=1.0, parked=True)
    assert jobs.ack("scan", "j1")
    assert jobs.parked("scan", before=100.0) == []
