"""A live QFZZ server on a fake clock whose upload store records every finish."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import uvicorn
from ingest_helpers import MIB, Finished, Server

from qfzz.api import create_api
from qfzz.app import server_options
from qfzz.ingest import UploadStore
from qfzz.settings import Settings
from qfzz.testing import FakeClock, free_port, synthetic_station


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per test module (a station costs a second); tests keep apart by user."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("uploads") / "data",
        demo_library=False,
        max_content_size_mb=2,
        upload_quota_mb=3,
        upload_expiry_hours=0.01,  # 36 s on the fake clock
    )
    clock = FakeClock()
    finished = Finished()
    with synthetic_station(settings, clock=clock, tracks=()) as station:
        store = UploadStore(
            settings.data_dir / "uploads",
            clock=clock,
            max_size=settings.max_content_size_mb * MIB,
            quota=settings.upload_quota_mb * MIB,
            expiry_seconds=settings.upload_expiry_hours * 3600,
            on_finished=finished,
        )
        app = create_api(station, manage_lifecycle=False, upload_store=store)
        port = free_port()
        options = {**server_options(settings), "host": "127.0.0.1", "port": port}
        uv = uvicorn.Server(uvicorn.Config(app, **options, lifespan="off"))
        thread = threading.Thread(target=uv.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not uv.started and time.monotonic() < deadline:
            time.sleep(0.02)  # server start-up, as qfzz.testing.serve_in_thread does
        try:
            yield Server(f"http://127.0.0.1:{port}", station, store, clock, finished)
        finally:
            uv.should_exit = True
            thread.join(10)


@pytest.fixture
def user() -> str:
    return f"user-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def auth(server: Server, user: str) -> dict[str, str]:
    return server.sign_in(user)
