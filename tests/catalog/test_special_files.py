"""FIFOs, sockets and devices in a music folder: skipped and reported, never read.

A FIFO blocks whoever opens it for reading until a writer comes, so before the fix these
calls never returned. Each runs in a daemon thread the test gives up on after a minute: a
guard against hanging the suite, not a measurement (they return in milliseconds).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TypeVar

import pytest

from qfzz.app import build_station, prepare_library
from qfzz.audio import NotRegularFile, decode, open_regular
from qfzz.catalog import content_id_of_file
from qfzz.catalog.artwork import embedded_artwork, find_artwork
from qfzz.catalog.scanner import read_library_file
from qfzz.catalog.tags import read_track_file
from qfzz.errors import UnreadableFile
from qfzz.settings import Settings
from qfzz.station import QFZZStation
from qfzz.testing import write_tone

T = TypeVar("T")
GUARD = 60.0  # seconds before the test calls a call that blocks a hang (not a timing)


def returns(call: Callable[[], T]) -> T:
    """``call()``'s result, or a failure saying it blocked (instead of a hung test run)."""
    outcome: Future[T] = Future()

    def run() -> None:
        try:
            outcome.set_result(call())
        except BaseException as exc:
            outcome.set_exception(exc)

    threading.Thread(target=run, daemon=True).start()
    try:
        return outcome.result(GUARD)
    except TimeoutError:
        pytest.fail("the call blocked on a special file")


@pytest.fixture
def music(tmp_path) -> Path:
    root = tmp_path / "music"
    root.mkdir()
    write_tone(root / "a.mp3", 440, 0.5, 0.2, {"title": "Tone A", "artist": "Pipes"})
    write_tone(root / "b.flac", 330, 0.5, 0.2, {"title": "Tone B", "artist": "Pipes"})
    os.mkfifo(root / "x.mp3")
    return root


def test_a_fifo_named_x_mp3_is_skipped_and_reported_by_the_scan(station: QFZZStation, music):
    report = returns(lambda: station.scan(music))
    assert (report.added, report.errors) == (2, [])
    assert report.skipped == [(str(music / "x.mp3"), "a FIFO")]
    assert station.search_tracks(artist="Pipes")[0] == 2
    again = returns(lambda: station.scan(music))  # and every time after
    assert (again.unchanged, again.skipped) == (2, report.skipped)


def test_sockets_are_skipped_and_a_file_replaced_by_a_fifo_leaves_the_catalog(
    station: QFZZStation, music
):
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(music / "s.ogg"))
        returns(lambda: station.scan(music))
        (music / "b.flac").unlink()
        os.mkfifo(music / "b.flac")
        report = returns(lambda: station.scan(music))
    assert sorted(report.skipped) == [
        (str(music / "b.flac"), "a FIFO"),
        (str(music / "s.ogg"), "a socket"),
        (str(music / "x.mp3"), "a FIFO"),
    ]
    assert report.removed == 1 and station.search_tracks(artist="Pipes")[0] == 1


@pytest.mark.parametrize(
    "read",
    [read_track_file, content_id_of_file, read_library_file, open_regular],
    ids=["tags", "content id", "scanned file", "open"],
)
def test_every_reader_refuses_a_fifo_without_blocking(music, read):
    """Also what happens when a FIFO is swapped in after the scanner's ``stat``."""
    with pytest.raises(NotRegularFile, match="a FIFO, not a regular file") as caught:
        returns(lambda: read(music / "x.mp3"))
    assert isinstance(caught.value, UnreadableFile) and caught.value.kind == "a FIFO"


def test_decoding_at_play_time_refuses_a_fifo(music):
    with pytest.raises(UnreadableFile, match="not a regular file"):
        returns(lambda: list(decode(music / "x.mp3")))
    assert returns(lambda: sum(b.shape[1] for b in decode(music / "a.mp3"))) > 0


def test_cover_art_from_a_fifo_is_none_not_a_hang(music):
    os.mkfifo(music / "cover.jpg")
    assert returns(lambda: embedded_artwork(music / "x.mp3")) is None
    assert returns(lambda: find_artwork(music / "x.mp3")) is None
    assert returns(lambda: find_artwork(music / "a.mp3")) is None


def test_start_up_completes_with_a_fifo_in_the_library(tmp_path, music, clock):
    settings = Settings(data_dir=tmp_path / "data", demo_library=False, library=[music])
    station = build_station(settings, clock=clock)
    station.start()
    try:
        [report] = returns(lambda: prepare_library(station, settings))
        assert report.added == 2 and report.skipped == [(str(music / "x.mp3"), "a FIFO")]
    finally:
        station.close()


def test_qfzz_scan_returns_and_lists_the_fifo(tmp_path, music):
    source = Path(__file__).resolve().parents[2] / "src"
    env = {**os.environ, "PYTHONPATH": str(source), "COLUMNS": "400"}
    done = subprocess.run(
        [sys.executable, "-m", "qfzz", "scan", str(music), "--data-dir", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,  # the harness's guard: before the fix this never returned
    )
    assert done.returncode == 0, done.stderr
    assert f"skipped {music / 'x.mp3'}: a FIFO, not a regular file" in done.stderr
    assert "2 added" in done.stdout and "1 not regular files" in done.stdout
