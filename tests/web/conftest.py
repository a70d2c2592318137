"""A live server over a small real audio library, for the browser and SSE tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from qfzz.api import create_api
from qfzz.settings import Settings
from qfzz.station import QFZZStation
from qfzz.testing import write_tone


@pytest.fixture(scope="session")
def tone_library(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("web-tones")
    for n in range(6):
        write_tone(
            root / f"{n}.mp3",
            220 + 110 * n,
            4.0,
            0.05 if n % 2 else 0.6,
            {"title": f"Tone {n}", "artist": f"Artist {n % 3}", "genre": ["jazz", "rock"][n % 2]},
        )
    return root


@pytest.fixture
def library(tone_library) -> Path:
    """The music the live server plays; a test module may override it."""
    return tone_library


@dataclass
class LiveServer:
    url: str
    station: QFZZStation

    def sign_in(self, user_id: str = "ann", **preferences: object) -> tuple[dict[str, str], str]:
        """Register ``user_id`` if needed; returns bearer headers and a stream token."""
        if self.station.store.listeners.get(user_id) is None:
            self.station.register_listener(user_id, preferences, password="pw-1234")
        token = self.station.accounts.issue_token(user_id)
        return {"Authorization": f"Bearer {token}"}, self.station.accounts.stream_token(user_id)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server_settings(tmp_path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        demo_library=False,
        crossfade_seconds=0.5,
        burst_seconds=1.0,
        encoder_idle_seconds=0.0,
        stream_speed=1.0,
        stream_buffer_seconds=8.0,
    )


@pytest.fixture
def live(server_settings, library) -> Iterator[LiveServer]:
    station = QFZZStation(server_settings)
    station.start()
    station.scan(library)
    port = _free_port()
    config = uvicorn.Config(
        create_api(station, manage_lifecycle=False),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", station)
    finally:
        server.should_exit = True
        thread.join(10)
        station.close()
