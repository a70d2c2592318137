"""Reliable job queues: at least once, visibility timeout, dead letters, nothing lost.

A taken job is invisible to other workers until it is acknowledged; if its worker dies,
it becomes visible again ``visibility`` seconds (injected clock) after it was taken and is
redone. A job taken ``max_attempts`` times without an ack moves to the dead letters.

Two backends behind one :class:`JobQueue` protocol: :class:`StoreQueue` keeps jobs in
the durable job table (``qfzz.store.JobRepository``, SQLite by default), so a restart
loses none; :class:`RedisQueue` keeps them on the cache's Redis-protocol server, lent as
a :class:`ServerLink` (``qfzz.cache.server_link``), with the job table behind it for
what the server may lose. This package imports neither the store nor the cache nor
redis; the station wires them::

    queue = open_queue(
        "catalog", store=store.jobs, clock=clock, codec=cache.codec,
        server=server_link(cache, "jobs"),
    )
    job_id = queue.put({"kind": "scan", "path": "/music"})
"""

from __future__ import annotations

from qfzz.jobs._memory_store import MemoryJobStore
from qfzz.jobs._open import open_queue
from qfzz.jobs._protocols import JobQueue, JobStore, PayloadCodec, ServerLink, StoredJob
from qfzz.jobs._redis_queue import RedisQueue
from qfzz.jobs._store_queue import StoreQueue
from qfzz.jobs._types import DeadJob, Job

__all__ = [
    "DeadJob",
    "Job",
    "JobQueue",
    "JobStore",
    "MemoryJobStore",
    "PayloadCodec",
    "RedisQueue",
    "ServerLink",
    "StoreQueue",
    "StoredJob",
    "open_queue",
]
