"""Synthesis makes distinct, clean pieces; encoding gives decodable files of the right length."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pytest
from mutagen.mp3 import MP3, BitrateMode

from qfzz import audio
from qfzz.audio import PieceSpec, encode_audio_file, synthesize_piece

SR = 22050
CALM = PieceSpec(
    seconds=6,
    tempo_bpm=66,
    root_midi=57,
    mode="minor",
    energy=0.1,
    timbre="sine",
    seed=1,
    drums=False,
)
LOUD = PieceSpec(
    seconds=6,
    tempo_bpm=176,
    root_midi=45,
    mode="minor",
    energy=0.95,
    timbre="bright",
    seed=1,
    drums=True,
)
PEAK_LIMIT = 10 ** (-1 / 20)


def centroid_hz(x: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(x.mean(axis=0)))
    return float((spectrum * np.fft.rfftfreq(x.shape[1], 1 / sr)).sum() / spectrum.sum())


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def decode(path: Path) -> tuple[np.ndarray, int]:
    """All samples of the file's first audio stream as float (channels, n)."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=stream.rate)
        chunks = []
        for frame in container.decode(stream):
            chunks += [f.to_ndarray() for f in resampler.resample(frame)]
        chunks += [f.to_ndarray() for f in resampler.resample(None)]
        return np.concatenate(chunks, axis=1), stream.rate


def test_public_api_is_deliberate():
    assert len(set(audio.__all__)) == len(audio.__all__)  # order: ruff's RUF022 keeps it
    assert all(hasattr(audio, name) for name in audio.__all__)
    assert {"PieceSpec", "encode_audio_file", "synthesize_piece"} <= set(audio.__all__)


def test_piece_is_stereo_float32_of_requested_length():
    x = synthesize_piece(CALM, SR)
    assert x.dtype == np.float32
    assert x.shape == (2, 6 * SR)
    assert np.isfinite(x).all()


def test_same_spec_same_audio_other_seed_other_audio():
    a, b = synthesize_piece(LOUD, SR), synthesize_piece(LOUD, SR)
    assert np.array_equal(a, b)
    other = synthesize_piece(replace(LOUD, seed=2), SR)
    assert not np.allclose(a, other)


def test_no_clipping_and_peak_follows_energy():
    calm, loud = synthesize_piece(CALM, SR), synthesize_piece(LOUD, SR)
    assert np.abs(loud).max() <= PEAK_LIMIT + 1e-6
    assert np.abs(loud).max() == pytest.approx(PEAK_LIMIT * (0.45 + 0.55 * 0.95), rel=1e-4)
    assert np.abs(calm).max() == pytest.approx(PEAK_LIMIT * (0.45 + 0.55 * 0.1), rel=1e-4)
    assert rms(loud) > 2 * rms(calm)  # about 6 dB louder, not only a higher peak


def test_genres_sound_different():
    calm, loud = synthesize_piece(CALM, SR), synthesize_piece(LOUD, SR)
    assert centroid_hz(loud, SR) > 3 * centroid_hz(calm, SR)
    # the same timbre at another tempo and key still changes the audio
    faster = synthesize_piece(replace(CALM, tempo_bpm=120.0), SR)
    assert not np.allclose(calm, faster)


def test_fades_start_and_end_in_silence():
    x = synthesize_piece(LOUD, SR)
    assert np.abs(x[:, :8]).max() < 1e-3
    assert np.abs(x[:, -8:]).max() < 1e-3
    assert np.abs(x[:, : SR // 10]).max() < 0.2 * np.abs(x).max()  # fading in, not a step


def test_calm_piece_has_no_clicks():
    """Sine voices with envelopes never jump by more than a smooth waveform can."""
    x = synthesize_piece(CALM, SR)
    assert np.abs(np.diff(x, axis=1)).max() < 0.1


@pytest.mark.parametrize(
    "change",
    [
        {"seconds": 0.1},
        {"tempo_bpm": 5.0},
        {"energy": 1.5},
        {"mode": "dorian"},
        {"timbre": "kazoo"},
        {"root_midi": 200},
    ],
)
def test_invalid_spec_is_rejected(change):
    with pytest.raises(ValueError):
        replace(CALM, **change)


@pytest.mark.parametrize("ext", [".mp3", ".flac", ".ogg", ".opus", ".m4a", ".wav"])
def test_encoded_file_decodes_to_the_same_duration(tmp_path, ext):
    x = synthesize_piece(replace(LOUD, seconds=2.5), 44100)
    path = tmp_path / f"piece{ext}"
    encode_audio_file(x, 44100, path, bitrate_kbps=128)
    decoded, rate = decode(path)
    assert decoded.shape[1] / rate == pytest.approx(2.5, abs=0.03)
    assert np.abs(decoded).max() > 0.3  # real audio, not silence
    assert os.listdir(tmp_path) == [path.name]  # no temporary file left behind


def test_flac_round_trip_is_lossless_within_16_bits(tmp_path):
    x = synthesize_piece(CALM, SR)
    path = tmp_path / "calm.flac"
    encode_audio_file(x, SR, path)
    decoded, rate = decode(path)
    assert rate == SR
    assert decoded.shape == x.shape
    assert np.abs(decoded - x).max() <= 1.0 / 32768


def test_mp3_is_constant_bitrate(tmp_path):
    path = tmp_path / "loud.mp3"
    encode_audio_file(synthesize_piece(LOUD, 44100), 44100, path, bitrate_kbps=160)
    info = MP3(path).info
    assert info.bitrate_mode is BitrateMode.CBR
    assert info.bitrate == 160_000


def test_mono_input_is_accepted(tmp_path):
    path = tmp_path / "mono.wav"
    encode_audio_file(synthesize_piece(CALM, SR)[0], SR, path)
    decoded, _ = decode(path)
    assert decoded.shape[1] == 6 * SR


@pytest.mark.parametrize(
    ("samples", "name"),
    [
        (np.zeros((2, 100), np.float32), "x.aiff"),
        (np.zeros((2, 0), np.float32), "x.wav"),
        (np.zeros((3, 100), np.float32), "x.wav"),
        (np.full((2, 100), np.nan, np.float32), "x.flac"),
        (np.zeros((2, 100), np.float32), "x.mp3"),  # with bitrate 0
    ],
)
def test_bad_input_creates_no_file(tmp_path, samples, name):
    with pytest.raises(ValueError):
        encode_audio_file(samples, SR, tmp_path / name, bitrate_kbps=0 if ".mp3" in name else 128)
    assert os.listdir(tmp_path) == []


def test_files_get_the_umask_mode_not_a_private_one(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    path = tmp_path / "calm.wav"
    encode_audio_file(synthesize_piece(CALM, SR), SR, path)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_failed_write_leaves_neither_final_nor_temporary_file(tmp_path, monkeypatch):
    def refuse(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        encode_audio_file(synthesize_piece(CALM, SR), SR, tmp_path / "calm.flac")
    assert os.listdir(tmp_path) == []
