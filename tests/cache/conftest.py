"""Cache fixtures: the same tests on the embedded backend and on a real Redis server.

The Redis side is the ``redis_url`` of ``tests/conftest.py``: a ``redis-server`` of the
session's own, else 127.0.0.1:6379 under a unique key prefix, else skipped saying why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from qfzz.cache import Cache, open_cache
from qfzz.testing import FakeClock

CacheMaker = Callable[..., Cache]


@pytest.fixture
def make_cache(request, backend_kind, key_prefix, clock: FakeClock) -> Iterator[CacheMaker]:
    """Opens caches on one backend; each Redis-backed one is another "process"."""
    url = request.getfixturevalue("redis_url") if backend_kind == "redis" else None
    prefix = key_prefix
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


@pytest.fixture
def cache(make_cache) -> Cache:
    return make_cache()
