"""A job put with an idempotency key is queued once per key, on either backend."""

from __future__ import annotations

import pytest

from qfzz.cache import JobQueue, MemoryJobStore, open_cache
from qfzz.models import IdempotencyKey
from qfzz.store import KeyTaken

KEY = IdempotencyKey("boss", "POST /api/v1/datasets/jobs", "once", "f" * 64)


def test_a_keyed_job_is_queued_once_and_its_key_names_it(make_cache, job_store):
    jobs = JobQueue(make_cache(), "catalog", visibility=30.0, max_attempts=3)
    job_id = jobs.put({"kind": "import"}, key=KEY)
    with pytest.raises(KeyTaken) as taken:
        jobs.put({"kind": "import"}, key=KEY)
    assert job_store.answered(taken.value.record) == job_id
    first = jobs.take()
    assert first is not None and first.job_id == job_id
    assert jobs.take() is None
    jobs.ack(first)
    with pytest.raises(KeyTaken):  # done and gone from the queue, still not queued again
        jobs.put({"kind": "import"}, key=KEY)
    assert jobs.take() is None


def test_the_in_memory_job_store_refuses_keys_it_could_not_keep(clock):
    cache = open_cache(None, clock=clock, job_store=MemoryJobStore())
    try:
        with pytest.raises(ValueError, match="idempotency"):
            JobQueue(cache, "catalog").put({"kind": "import"}, key=KEY)
    finally:
        cache.close()
