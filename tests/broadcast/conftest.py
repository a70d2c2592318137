"""A real HTTP server over a small real audio library, for players that need a URL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import imageio_ffmpeg
import pytest

from qfzz.settings import Settings
from qfzz.testing import LiveServer, live_station, streaming_settings, write_tone_library

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


@pytest.fixture(scope="session")
def tone_library(tmp_path_factory) -> Path:
    return write_tone_library(tmp_path_factory.mktemp("tones"))


@pytest.fixture
def server_settings(tmp_path) -> Settings:
    return streaming_settings(tmp_path / "data")


@pytest.fixture
def live(server_settings, tone_library) -> Iterator[LiveServer]:
    with live_station(server_settings, tone_library) as server:
        yield server
