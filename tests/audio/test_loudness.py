"""Loudness in LUFS by FFmpeg's ebur128 meter: the broadcast's figure agrees with the
ffmpeg command line and with the one stored at conversion, and the gain levels tracks."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from qfzz.audio import (
    MAX_GAIN_DB,
    PEAK_CEILING,
    SAMPLE_RATE,
    TARGET_LUFS,
    Loudness,
    decode,
    derive,
    encode_audio_file,
    measure,
)

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def tone(seconds: float, amp: float, freq: float = 1000.0) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    wave = (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.stack([wave, wave * 0.5])  # unequal channels: the meter must sum both


def ffmpeg_integrated(path: Path) -> float:
    """The "I:" of ffmpeg's ebur128 summary (the reference this project must agree with)."""
    result = subprocess.run(
        [FFMPEG, "-nostats", "-hide_banner", "-i", str(path), "-af", "ebur128", "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    summary = result.stderr[result.stderr.rindex("Summary:") :]
    found = re.search(r"I:\s+(-?\d+(?:\.\d+)?) LUFS", summary)
    assert found is not None, summary
    return float(found.group(1))


@pytest.mark.parametrize(("amp", "freq"), [(0.1, 1000.0), (0.6, 220.0), (0.02, 3000.0)])
def test_measure_agrees_with_ffmpeg_ebur128(tmp_path, amp, freq):
    path = tmp_path / "tone.flac"
    encode_audio_file(tone(6.0, amp, freq), SAMPLE_RATE, path)
    reference = ffmpeg_integrated(path)
    measured = measure(decode(path))
    assert measured.lufs is not None
    assert measured.lufs == pytest.approx(reference, abs=0.1)
    assert measured.peak == pytest.approx(amp, rel=0.01)


def test_the_broadcast_and_the_conversion_measure_the_same(tmp_path):
    path = tmp_path / "song.flac"
    encode_audio_file(tone(5.0, 0.3, 440.0), SAMPLE_RATE, path)
    out = tmp_path / "out"
    out.mkdir()
    derived = derive(path, out)
    assert derived.loudness_lufs is not None
    assert measure(decode(path)).lufs == pytest.approx(derived.loudness_lufs, abs=0.05)


def test_the_gain_brings_tones_of_different_levels_to_the_same_loudness():
    quiet, loud = tone(5.0, 0.05, 440.0), tone(5.0, 0.8, 660.0)
    before = [measure([quiet]), measure([loud])]
    assert before[0].lufs is not None and before[1].lufs is not None
    assert before[1].lufs - before[0].lufs > 20  # far apart to begin with
    after = [measure([(signal * m.gain()).astype(np.float32)]) for signal, m in
             zip((quiet, loud), before, strict=True)]  # fmt: skip
    assert after[0].lufs is not None and after[1].lufs is not None
    assert after[0].lufs == pytest.approx(after[1].lufs, abs=0.5)
    assert after[0].lufs == pytest.approx(TARGET_LUFS, abs=0.5)


def test_silence_plays_at_unity_and_the_limits_hold():
    silent = measure([np.zeros((2, SAMPLE_RATE * 2), np.float32)])
    assert silent.lufs is None and silent.gain() == 1.0
    assert measure([]).gain() == 1.0
    # a very quiet track is raised by MAX_GAIN_DB at most
    assert Loudness(-60.0, 0.001).gain() == pytest.approx(10 ** (MAX_GAIN_DB / 20))
    # a quiet track with a loud peak is raised only until the peak reaches the ceiling
    assert Loudness(-30.0, 0.5).gain() == pytest.approx(PEAK_CEILING / 0.5)
    # a loud track is turned down to the target
    assert Loudness(-8.0, 1.0).gain() == pytest.approx(10 ** ((TARGET_LUFS + 8.0) / 20))
