"""Durations come from the audio when an MP3's header cannot be trusted: a file cut short
keeps a header promising the whole, and a VBR file without a Xing header is timed by its
first frame's bitrate."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest

from qfzz.catalog.tags import read_track_file
from qfzz.errors import UnreadableFile


def _mp3(seconds: float, kbps: int, *, xing: bool) -> bytes:
    """A tone as MP3 frames at ``kbps``, with or without the Xing/Info header."""
    buffer = io.BytesIO()
    options = {"id3v2_version": "0", "write_xing": "1" if xing else "0"}
    with av.open(buffer, mode="w", format="mp3", options=options) as container:
        stream = container.add_stream("libmp3lame", rate=44100, layout="stereo")
        stream.bit_rate = kbps * 1000
        t = np.arange(int(seconds * 44100)) / 44100
        tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(np.stack([tone, tone]), format="fltp", layout="stereo")
        frame.sample_rate = 44100
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


def test_a_file_cut_short_is_as_long_as_what_it_holds(tmp_path):
    whole = _mp3(12.0, 128, xing=True)
    (tmp_path / "whole.mp3").write_bytes(whole)
    (tmp_path / "cut.mp3").write_bytes(whole[: len(whole) // 10])
    assert read_track_file(tmp_path / "whole.mp3").duration == pytest.approx(12.0, abs=0.1)
    # its Info header still says 12 s; its bytes hold a tenth of that
    assert read_track_file(tmp_path / "cut.mp3").duration == pytest.approx(1.2, abs=0.15)


def test_a_vbr_file_without_a_xing_header_is_timed_by_its_frames(tmp_path):
    # 2 s at 320 kbps, then 10 s at 64 kbps, no header: its first frame's bitrate says 4 s
    path = tmp_path / "vbr.mp3"
    path.write_bytes(_mp3(2.0, 320, xing=False) + _mp3(10.0, 64, xing=False))
    assert read_track_file(path).duration == pytest.approx(12.0, abs=0.2)


def test_a_file_that_is_not_audio_stays_unreadable(tmp_path: Path):
    path = tmp_path / "noise.mp3"
    path.write_bytes(b"\xff\xfb" + bytes(4000))  # one frame header, then nothing to play
    with pytest.raises(UnreadableFile):
        read_track_file(path)
