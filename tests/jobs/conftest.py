"""Job-queue fixtures: the same tests on both backends.

``embedded`` queues are :class:`~qfzz.jobs.StoreQueue` s over one SQLite job store (two
queues are two workers of one process); ``redis`` queues are
:class:`~qfzz.jobs.RedisQueue` s, each over a cache of its own (another "process") on the
``redis_url`` of ``tests/conftest.py``, with the SQLite job store behind them all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from qfzz.cache import Cache, Codec, open_cache, server_link
from qfzz.jobs import JobQueue, open_queue
from qfzz.store import open_store
from qfzz.testing import FakeClock

QueueMaker = Callable[..., JobQueue]


@pytest.fixture
def job_store(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'jobs.db'}")
    try:
        yield store.jobs
    finally:
        store.close()


@pytest.fixture
def make_queue(
    request, backend_kind, key_prefix, clock: FakeClock, job_store
) -> Iterator[QueueMaker]:
    """Opens queues on one backend, all over the same job store (and Redis key prefix)."""
    url = request.getfixturevalue("redis_url") if backend_kind == "redis" else None
    prefix = key_prefix
    opened: list[Cache] = []

    def make(name: str = "scan", **options: object) -> JobQueue:
        options.setdefault("visibility", 30.0)
        options.setdefault("max_attempts", 3)
        if url is None:
            return open_queue(name, store=job_store, clock=clock, codec=Codec(), **options)  # type: ignore[arg-type]
        cache = open_cache(url, clock=clock, prefix=prefix, strict=True)
        opened.append(cache)
        link = server_link(cache, "jobs")
        assert link is not None
        return open_queue(
            name,
            store=job_store,
            clock=clock,
            codec=cache.codec,
            server=link,
            **options,  # type: ignore[arg-type]
        )

    yield make
    for cache in opened:
        cache.close()
