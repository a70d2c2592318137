"""Cache fixtures: the same tests on the embedded backend and on a real Redis server.

The Redis side prefers a ``redis-server`` of its own on a free port (so fault tests can
kill and restart it); without the binary it uses 127.0.0.1:6379 under a unique key
prefix; without either the Redis half of the suite is skipped, saying why.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from qfzz.cache import Cache, open_cache
from qfzz.store import open_store
from qfzz.testing import FakeClock

REDIS_BINARY = shutil.which("redis-server")
SHARED_URL = "redis://127.0.0.1:6379/0"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ping(url: str, timeout: float = 0.5) -> bool:
    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


class RedisServer:
    """A ``redis-server`` this test session started and may kill and restart."""

    def __init__(self, workdir: Path, *, durable: bool = False) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.durable = durable
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        assert REDIS_BINARY is not None
        # A killed process loses nothing the kernel already has: no fsync needed.
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "no"]
            if self.durable
            else ["--appendonly", "no"]
        )
        self.process = subprocess.Popen(
            [
                REDIS_BINARY,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                *persistence,
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not _ping(self.url, 0.2):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> Iterator[RedisServer | None]:
    if REDIS_BINARY is None:
        yield None
        return
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def redis_url(redis_server) -> str:
    if redis_server is not None:
        return str(redis_server.url)
    if _ping(SHARED_URL):
        return SHARED_URL
    pytest.skip("no redis-server binary and nothing answering on 127.0.0.1:6379")


@pytest.fixture
def own_redis(tmp_path) -> Iterator[RedisServer]:
    """A durable (append-only file) server for this test only, to kill and restart."""
    if REDIS_BINARY is None:
        pytest.skip("fault tests need the redis-server binary to kill and restart a server")
    server = RedisServer(tmp_path, durable=True)
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def job_store(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'jobs.db'}")
    try:
        yield store.jobs
    finally:
        store.close()


CacheMaker = Callable[..., Cache]


@pytest.fixture(params=["embedded", "redis"])
def backend_kind(request) -> str:
    return str(request.param)


@pytest.fixture
def make_cache(request, backend_kind, clock: FakeClock, job_store) -> Iterator[CacheMaker]:
    """Opens caches on one backend; each Redis-backed one is another "process"."""
    url = request.getfixturevalue("redis_url") if backend_kind == "redis" else None
    prefix = f"qfzz-test-{uuid.uuid4().hex[:8]}:"
    opened: list[Cache] = []

    def make(**options: object) -> Cache:
        options.setdefault("clock", clock)
        options.setdefault("prefix", prefix)
        options.setdefault("job_store", job_store)
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
