"""A station over each cache backend: the embedded one and a real Redis server."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import pytest

from qfzz.settings import Settings
from qfzz.station import QFZZStation
from qfzz.testing import synthetic_station

#: What a test may have put in a Redis shared with other tests (cleared afterwards).
NAMESPACES = ("track", "search", "playlist", "session", "jobprogress", "jobs")


def _redis_url() -> str | None:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return "redis://127.0.0.1:6379/0"
    except OSError:
        return None


@pytest.fixture(params=["embedded", "redis"])
def cached_station(request, tmp_path, clock) -> Iterator[QFZZStation]:
    """A started station on the 72 synthetic tracks, its cache embedded or on Redis (under
    a key prefix of its own; skipped, saying why, when no Redis answers on 6379)."""
    url = None
    if request.param == "redis":
        url = _redis_url()
        if url is None:
            pytest.skip("no Redis on 127.0.0.1:6379")
    settings = Settings(
        data_dir=tmp_path / "d",
        demo_library=False,
        cache_url=url,
        cache_prefix=f"qfzz-test-{uuid.uuid4().hex[:8]}:",
    )
    with synthetic_station(settings, clock=clock) as station:
        yield station
        for namespace in NAMESPACES:
            station.parts.cache.clear_namespace(namespace)
