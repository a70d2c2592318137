"""Cache fixtures: the same tests on the embedded backend and on a real Redis server.

The Redis side is the ``redis_url`` of ``tests/conftest.py``: a ``redis-server`` of the
session's own, else 127.0.0.1:6379 under a unique key prefix, else skipped saying why.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
import redis

from qfzz.cache import Cache, open_cache
from qfzz.testing import FakeClock

CacheMaker = Callable[..., Cache]


@pytest.fixture(params=["embedded", "redis"])
def backend_kind(request) -> str:
    return str(request.param)


@pytest.fixture
def make_cache(request, backend_kind, clock: FakeClock) -> Iterator[CacheMaker]:
    """Opens caches on one backend; each Redis-backed one is another "process"."""
    url = request.getfixturevalue("redis_url") if backend_kind == "redis" else None
    prefix = f"qfzz-test-{uuid.uuid4().hex[:8]}:"
    opened: list[Cache] = []

    def make(**options: object) -> Cache:
        options.setdefault("clock", clock)
        options.setdefault("prefix", prefix)
        options.setdefault("strict", True)
        cache = open_cache(url, **options)  # type: ignore[arg-type]
        opened.append(cache)
        return cache

    yield make
    for cache in opened:
        cache.close()
    if url is not None:
        cleanup = redis.Redis.from_url(url)
        for key in cleanup.scan_iter(match=f"{prefix}*", count=1000):
            cleanup.delete(key)
        cleanup.close()


@pytest.fixture
def cache(make_cache) -> Cache:
    return make_cache()
