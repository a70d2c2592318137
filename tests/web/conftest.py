"""A live server over a small real audio library, for the browser and SSE tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qfzz.settings import Settings
from qfzz.station import QFZZStation
from qfzz.testing import LiveServer, serve_in_thread, write_tone


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
    try:
        with serve_in_thread(station) as url:
            yield LiveServer(url, station)
    finally:
        station.close()
