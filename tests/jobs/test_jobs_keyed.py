"""A job put with an idempotency key is queued once per key, on either backend."""

from __future__ import annotations

import pytest

from qfzz.cache import Codec
from qfzz.jobs import MemoryJobStore, open_queue
from qfzz.models import IdempotencyKey
from qfzz.store import KeyTaken

KEY = IdempotencyKey("boss", "POST /api/v1/datasets/jobs", "once", "f" * 64)


def test_a_keyed_job_is_queued_once_and_its_key_names_it(make_queue, job_store):
    jobs = make_queue("catalog")
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
    jobs = open_queue("catalog", store=MemoryJobStore(), clock=clock, codec=Codec())
    with pytest.raises(ValueError, match="idempotency"):
        jobs.put({"kind": "import"}, key=KEY)
