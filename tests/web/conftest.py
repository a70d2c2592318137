"""A live server over a small real audio library, for the browser and SSE tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qfzz.settings import Settings
from qfzz.testing import LiveServer, live_station, streaming_settings, write_tone_library


@pytest.fixture(scope="session")
def tone_library(tmp_path_factory) -> Path:
    return write_tone_library(tmp_path_factory.mktemp("web-tones"))


@pytest.fixture
def library(tone_library) -> Path:
    """The music the live server plays; a test module may override it."""
    return tone_library


@pytest.fixture
def server_settings(tmp_path) -> Settings:
    return streaming_settings(tmp_path / "data")


@pytest.fixture
def live(server_settings, library) -> Iterator[LiveServer]:
    with live_station(server_settings, library) as server:
        yield server
