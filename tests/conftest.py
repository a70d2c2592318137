"""Shared fixtures: a fake clock, stores on SQLite and PostgreSQL, a started station, and
Redis servers for the cache and the job queues."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, text

from qfzz.catalog.demo import generate_demo_library
from qfzz.settings import Settings
from qfzz.station import QFZZStation
from qfzz.store import Store, open_store
from qfzz.testing import FakeClock, free_port, synthetic_station

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

# Measuring tempo and energy of every scanned tone would add ~0.25 s a file (and numba's
# start-up in each process) to tests about other things: stations and served processes
# made by the tests skip it unless a test asks (tests/catalog/test_features.py does).
os.environ.setdefault("QFZZ_ANALYSE_AUDIO", "false")

# Property tests check what is true, never how fast: hypothesis' per-example deadline and
# its too-slow health check are timed assertions that a loaded machine fails by luck.
settings.register_profile("qfzz", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("qfzz")


def _postgres_reachable() -> str | None:
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 2})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return f"PostgreSQL on 127.0.0.1:5432 (database test) not reachable: {exc}"


_PG_SKIP: str | bool | None = False


def postgres_skip_reason() -> str | None:
    global _PG_SKIP
    if _PG_SKIP is False:
        _PG_SKIP = _postgres_reachable()
    return _PG_SKIP  # type: ignore[return-value]


@pytest.fixture(scope="session")
def demo_library(tmp_path_factory):
    """The full default demo library, generated once per session (about 30 s on 2 cores).

    Returns ``(folder, paths, progress calls)``; tests must not modify the folder.
    """
    dest = tmp_path_factory.mktemp("demo")
    progress: list[tuple[int, int]] = []
    paths = generate_demo_library(
        dest, on_progress=lambda done, total: progress.append((done, total))
    )
    return dest, paths, progress


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'qfzz.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema in the real PostgreSQL, dropped afterwards."""
    reason = postgres_skip_reason()
    if reason:
        pytest.skip(reason)
    schema = f"qfzz_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        # Extensions are per database: made once in public, not by the first test's
        # migration in its own schema (whose drop would take them from parallel tests).
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public"))
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public"))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request) -> str:
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def store(store_url) -> Iterator[Store]:
    opened = open_store(store_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", demo_library=False)


@pytest.fixture
def station(settings, clock) -> Iterator[QFZZStation]:
    """A started station on SQLite with 72 synthetic playable tracks over 6 genres."""
    with synthetic_station(settings, clock=clock) as st:
        yield st


# -- Redis servers (tests/cache, tests/jobs) ---------------------------------------------

REDIS_BINARY = shutil.which("redis-server")
SHARED_URL = "redis://127.0.0.1:6379/0"


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


@pytest.fixture(params=["embedded", "redis"])
def backend_kind(request) -> str:
    """The cache and job tests run once on each backend."""
    return str(request.param)


@pytest.fixture
def key_prefix(request, backend_kind) -> Iterator[str]:
    """A Redis key prefix of the test's own; on Redis, its keys are deleted afterwards."""
    prefix = f"qfzz-test-{uuid.uuid4().hex[:8]}:"
    url = request.getfixturevalue("redis_url") if backend_kind == "redis" else None
    yield prefix
    if url is not None:
        cleanup = redis.Redis.from_url(url)
        for key in cleanup.scan_iter(match=f"{prefix}*", count=1000):
            cleanup.delete(key)
        cleanup.close()
