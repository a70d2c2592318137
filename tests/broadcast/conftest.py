"""A real HTTP server over a small real audio library, for players that need a URL."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
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


def ffmpeg_decode(url: str, seconds: float = 3.0) -> str:
    """ffmpeg's log after decoding ``seconds`` of ``url`` with no error (it fails the test
    otherwise): proof that what a URL serves is audio a real player decodes."""
    result = subprocess.run(
        [FFMPEG, "-hide_banner", "-nostdin", "-t", str(seconds), "-i", url, "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "error" not in result.stderr.lower() and "CRC mismatch" not in result.stderr
    assert f"time=00:00:{int(seconds):02d}" in result.stderr
    return result.stderr


@pytest.fixture
def decode() -> Callable[..., str]:
    """``decode(url, seconds=3.0)``: see ``ffmpeg_decode``."""
    return ffmpeg_decode
