"""Verification of fetched files: decoded length, and Chromaprint fingerprints compared."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qfzz.audio import SAMPLE_RATE, encode_audio_file
from qfzz.resolver import (
    Candidate,
    Verifier,
    Wanted,
    decoded_seconds,
    fingerprint_of,
    fingerprint_similarity,
    fingerprints_available,
)

needs_chromaprint = pytest.mark.skipif(
    not fingerprints_available(),
    reason="libchromaprint is missing (apt-get install libchromaprint1)",
)


def _music(path: Path, seed: int, seconds: float = 20.0, kbps: int = 192) -> Path:
    """Notes and noise that Chromaprint can tell apart (a pure tone has little to print)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    notes = 220 * 2 ** (rng.integers(0, 24, size=int(seconds * 4) + 1) / 12)
    wave = 0.3 * np.sin(2 * np.pi * notes[(t * 4).astype(int)] * t) + 0.02 * rng.standard_normal(
        t.size
    )
    pcm = wave.astype(np.float32)
    encode_audio_file(np.stack([pcm, pcm]), SAMPLE_RATE, path, bitrate_kbps=kbps)
    return path


def _print(path: Path) -> str:
    return fingerprint_of(path)


def test_the_decoded_length_is_measured_not_read_from_the_header(tmp_path):
    song = _music(tmp_path / "song.mp3", 1, seconds=6.0)
    assert decoded_seconds(song) == pytest.approx(6.0, abs=0.1)
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(song.read_bytes()[: song.stat().st_size // 3])  # a truncated download
    assert decoded_seconds(cut) == pytest.approx(2.0, abs=0.3)
    verdict = Verifier(fingerprints=False).verify(
        cut, Wanted(1, "T", "A", duration=6.0), Candidate("s", "r", "T", "A", 6.0, 1.0)
    )
    assert not verdict.ok and "lasts" in verdict.reason


@needs_chromaprint
def test_one_recording_re_encoded_is_alike_another_is_not(tmp_path):
    original = _music(tmp_path / "a.mp3", 1, kbps=256)
    again = _music(tmp_path / "a-low.mp3", 1, kbps=64)
    other = _music(tmp_path / "b.mp3", 2, kbps=256)
    same = fingerprint_similarity(_print(original), _print(again))
    different = fingerprint_similarity(_print(original), _print(other))
    assert same > 0.9 > 0.7 > different


@needs_chromaprint
def test_a_file_whose_fingerprint_differs_is_refused(tmp_path):
    wanted_audio = _music(tmp_path / "wanted.mp3", 1)
    fetched = _music(tmp_path / "fetched.mp3", 2)  # same length, other music
    wanted = Wanted(1, "Song", "Band", duration=20.0)
    verifier = Verifier()
    assert verifier.fingerprints
    reference = _print(wanted_audio)
    refused = verifier.verify(
        fetched, wanted, Candidate("s", "r", "Song", "Band", 20.0, 1.0, fingerprint=reference)
    )
    assert not refused.ok and "fingerprint differs" in refused.reason
    accepted = verifier.verify(
        wanted_audio, wanted, Candidate("s", "r", "Song", "Band", 20.0, 1.0, fingerprint=reference)
    )
    assert accepted.ok and accepted.similarity is not None and accepted.similarity > 0.95
