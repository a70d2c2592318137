"""``open_queue``: the one way the application gets a queue, whichever backend it has."""

from __future__ import annotations

import logging
from collections.abc import Callable

from qfzz.jobs._memory_store import MemoryJobStore
from qfzz.jobs._protocols import JobQueue, JobStore, PayloadCodec, ServerLink
from qfzz.jobs._redis_queue import RedisQueue
from qfzz.jobs._store_queue import StoreQueue

log = logging.getLogger(__name__)


def open_queue(
    name: str,
    *,
    store: JobStore | None,
    clock: Callable[[], float],
    codec: PayloadCodec,
    server: ServerLink | None = None,
    visibility: float = 300.0,
    max_attempts: int = 5,
) -> JobQueue:
    """The queue ``name``: on ``server`` when one is lent, else in ``store`` alone.

    ``store`` is the durable job table (``Store.jobs``); without one, jobs live in memory
    and a warning says so, since they then die with the process.
    """
    if store is None:
        log.warning("job queue %r has no durable job store: queued jobs die with the process", name)
        store = MemoryJobStore()
    if server is None:
        return StoreQueue(
            name, store, clock=clock, codec=codec, visibility=visibility, max_attempts=max_attempts
        )
    return RedisQueue(
        name,
        store,
        server,
        clock=clock,
        codec=codec,
        visibility=visibility,
        max_attempts=max_attempts,
    )
