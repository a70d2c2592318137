"""Conversion of uploads (issue 16): derivatives checked with the ffmpeg command line.

Each derivative is probed and fully decoded by /usr/bin/ffmpeg (not by the PyAV that made
it), and the loudness is compared with ffmpeg's own ``ebur128`` filter on the source. The
child-process behaviours (kill, limits, timeout, rerun) run real children.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from qfzz.audio import PieceSpec, derive, encode_audio_file, synthesize_piece
from qfzz.cache import Codec
from qfzz.errors import InvalidInput
from qfzz.ingest import (
    ConversionFailed,
    Converted,
    Converter,
    ConvertJobs,
    ConvertLimits,
    Outcome,
    parse_convert_job,
)
from qfzz.jobs import MemoryJobStore, StoreQueue
from qfzz.testing import FakeClock, write_tone

FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
FFPROBE = shutil.which("ffprobe") or "/usr/bin/ffprobe"
SR = 44100
SOURCE_SECONDS = 42.0
LONG_SECONDS = 100.0

pytestmark = pytest.mark.skipif(
    not (Path(FFMPEG).exists() and Path(FFPROBE).exists()), reason="needs the ffmpeg CLI"
)


def probe(path: Path) -> dict[str, float | str]:
    """Codec, duration and bitrate as ffprobe sees them (bitrate from size when absent)."""
    raw = subprocess.run(
        [
            FFPROBE,
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,bit_rate:format=duration",
            "-select_streams",
            "a:0",
            "-of",
            "json",
            str(path),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    data = json.loads(raw)
    stream, seconds = data["streams"][0], float(data["format"]["duration"])
    kbps = (
        int(stream["bit_rate"]) / 1000
        if stream.get("bit_rate", "N/A") != "N/A"
        else path.stat().st_size * 8 / seconds / 1000
    )
    return {"codec": stream["codec_name"], "seconds": seconds, "kbps": kbps}


def decodes_cleanly(path: Path) -> bool:
    done = subprocess.run(
        [FFMPEG, "-v", "error", "-xerror", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
    )
    return done.returncode == 0 and not done.stderr.strip()


def ffmpeg_lufs(path: Path) -> float:
    """Integrated loudness by ``ffmpeg -af ebur128`` (its last running value: 3 decimals)."""
    out = subprocess.run(
        [
            FFMPEG,
            "-v",
            "error",
            "-nostats",
            "-i",
            str(path),
            "-af",
            "ebur128=metadata=1,ametadata=mode=print:key=lavfi.r128.I:file=/dev/stdout",
            "-f",
            "null",
            "-",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    values = [line.split("=", 1)[1] for line in out.splitlines() if "lavfi.r128.I=" in line]
    return float(values[-1])


def music(seconds: float, seed: int, energy: float) -> np.ndarray:
    return synthesize_piece(
        PieceSpec(seconds=seconds, tempo_bpm=118, energy=energy, timbre="bright", seed=seed), SR
    )


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("sources")
    paths = {"mp3": d / "song.mp3", "flac": d / "song.flac"}
    encode_audio_file(music(SOURCE_SECONDS, 1, 0.8), SR, paths["mp3"], bitrate_kbps=192, fast=True)
    # mixed levels: a calm half, then the same piece 12 dB louder (the gate must matter)
    calm = music(SOURCE_SECONDS / 2, 2, 0.3)
    encode_audio_file(np.concatenate([calm * 0.25, calm], axis=1), SR, paths["flac"])
    return paths


@pytest.fixture(scope="module")
def converter(tmp_path_factory) -> Converter:
    return Converter(tmp_path_factory.mktemp("derivatives"))


@pytest.fixture(scope="module")
def converted(converter: Converter, sources: dict[str, Path]) -> dict[str, Converted]:
    done = {}
    for name, path in sources.items():
        outcome = converter.convert(f"song-{name}", path)
        assert isinstance(outcome, Converted), outcome
        done[name] = outcome
    return done


def check_preview_and_low(result: Converted) -> None:
    preview = probe(result.path("preview"))
    assert preview["codec"] == "mp3"
    assert preview["seconds"] == pytest.approx(30.0, abs=0.1)
    assert preview["kbps"] == pytest.approx(128, abs=1)  # CBR
    low = probe(result.path("low"))
    assert low["codec"] == "opus"
    assert low["seconds"] == pytest.approx(SOURCE_SECONDS, abs=0.1)
    # constrained VBR plus Ogg overhead: within 10 % of the 96 kbps target
    assert low["kbps"] == pytest.approx(96, rel=0.10)
    assert decodes_cleanly(result.path("preview"))
    assert decodes_cleanly(result.path("low"))


def test_a_lossy_upload_gets_preview_low_and_a_256k_mp3(converted, sources) -> None:
    result = converted["mp3"]
    assert (result.kind, result.source_codec) == ("audio", "mp3")
    check_preview_and_low(result)
    high = probe(result.path("high"))
    assert high["codec"] == "mp3"
    assert high["kbps"] == pytest.approx(256, abs=1)
    assert high["seconds"] == pytest.approx(SOURCE_SECONDS, abs=0.1)
    assert decodes_cleanly(result.path("high"))
    assert sorted(p.name for p in result.directory.iterdir()) == [
        "high.mp3",
        "low.opus",
        "manifest.json",
        "preview.mp3",
    ]


def test_a_lossless_upload_keeps_the_original_as_high(converted, sources) -> None:
    result = converted["flac"]
    check_preview_and_low(result)
    high = result.derivative("high")
    assert high is not None and high.original and high.codec == "flac"
    assert result.path("high").read_bytes() == sources["flac"].read_bytes()


@pytest.mark.parametrize("name", ["mp3", "flac"])
def test_loudness_matches_ffmpeg_ebur128(converted, sources, name) -> None:
    reference = ffmpeg_lufs(sources[name])
    assert converted[name].loudness_lufs == pytest.approx(reference, abs=0.1)


def _tone(seconds: float, amp: float, freq: float = 997.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    wave = (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.stack([wave, wave])


def _signals() -> dict[str, tuple[np.ndarray, str]]:
    rng = np.random.default_rng(7)
    noise = (rng.standard_normal((2, 12 * SR)) * 0.05).astype(np.float32)
    burst = np.concatenate([_tone(4, 0.01, 220), _tone(4, 0.5, 3000), _tone(4, 0.001)], axis=1)
    return {
        "tone": (_tone(12, 0.1), ".wav"),
        "noise": (noise, ".flac"),
        "bursts": (burst, ".wav"),
        "music": (music(12, 5, 0.6), ".mp3"),
    }


@pytest.mark.parametrize("signal_name", ["tone", "noise", "bursts", "music"])
def test_loudness_within_a_tenth_of_ffmpeg_on_several_signals(tmp_path, signal_name) -> None:
    samples, suffix = _signals()[signal_name]
    source = tmp_path / f"s{suffix}"
    encode_audio_file(samples, SR, source, fast=True)
    (tmp_path / "out").mkdir()
    derived = derive(source, tmp_path / "out")
    reference = ffmpeg_lufs(source)
    assert derived.loudness_lufs is not None
    print(f"{signal_name}: {derived.loudness_lufs:.3f} vs ffmpeg {reference:.3f}")
    assert derived.loudness_lufs == pytest.approx(reference, abs=0.1)


def test_loudness_of_a_sine_is_what_bs1770_defines(tmp_path) -> None:
    """Independent of ffmpeg: a 997 Hz sine at amplitude A in both channels reads 20·log10 A."""
    source = tmp_path / "sine.wav"
    encode_audio_file(_tone(10, 0.1), SR, source)
    (tmp_path / "out").mkdir()
    derived = derive(source, tmp_path / "out")
    assert derived.loudness_lufs == pytest.approx(-20.0, abs=0.1)
    assert derived.peak == pytest.approx(0.1, abs=0.002)


def test_a_mono_upload_without_extension_stays_mono_and_its_original_is_named(tmp_path) -> None:
    """Uploads are stored under ids: the kept original is named after its container."""
    source = tmp_path / "upload-123"
    wav = tmp_path / "x.wav"
    encode_audio_file(_tone(3, 0.2)[:1], 48000, wav)
    wav.rename(source)
    result = Converter(tmp_path / "d").convert("upload-123", source)
    assert isinstance(result, Converted)
    assert {d.name: (d.file, d.channels) for d in result.derivatives} == {
        "preview": ("preview.mp3", 1),
        "low": ("low.opus", 1),
        "high": ("high.wav", 1),
    }
    assert probe(result.path("low"))["codec"] == "opus"
    assert decodes_cleanly(result.path("high"))


def test_a_booklet_and_an_image_keep_only_the_original(tmp_path) -> None:
    converter = Converter(tmp_path / "d")
    pdf = tmp_path / "booklet.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    png = tmp_path / "cover.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    for content_id, path, kind in (("booklet", pdf, "document"), ("cover", png, "image")):
        result = converter.convert(content_id, path)
        assert isinstance(result, Converted)
        assert (result.status, result.kind, result.derivatives) == ("ready", kind, ())
        assert result.loudness_lufs is None
        assert [p.name for p in result.directory.iterdir()] == ["manifest.json"]


def test_bytes_that_do_not_decode_fail_with_a_reason(tmp_path) -> None:
    converter = Converter(tmp_path / "d")
    garbage = tmp_path / "song.mp3"
    garbage.write_bytes(np.random.default_rng(1).bytes(100_000))
    result = converter.convert("garbage", garbage)
    assert isinstance(result, ConversionFailed)
    assert (result.status, result.retry) == ("failed", False)
    assert result.reason.startswith("not decodable audio")
    assert not (tmp_path / "d" / "garbage").exists()
    assert list((tmp_path / "d").glob("*.tmp")) == []


@pytest.fixture(scope="module")
def long_wav(tmp_path_factory) -> Path:
    """100 s of lossless audio: long enough to be caught mid-conversion (~2 s of work)."""
    path = tmp_path_factory.mktemp("long") / "long.wav"
    piece = music(LONG_SECONDS / 5, 9, 0.7)
    encode_audio_file(np.concatenate([piece] * 5, axis=1), SR, path)
    return path


def wait_for_partial_output(temp_dir: Path, deadline_s: float = 20.0) -> None:
    """Poll (with a deadline) until the child has written part of its low derivative."""
    end = time.monotonic() + deadline_s
    low = temp_dir / "low.opus"
    while not (low.exists() and low.stat().st_size > 0):
        assert time.monotonic() < end, "the child never started writing"
        time.sleep(0.005)


def test_a_child_killed_mid_job_leaves_nothing_and_the_rerun_finishes_once(
    tmp_path, long_wav
) -> None:
    root = tmp_path / "d"
    converter = Converter(root)
    conversion = converter.start("long", long_wav)
    assert conversion.pid is not None and conversion.temp_dir is not None
    wait_for_partial_output(conversion.temp_dir)
    os.kill(conversion.pid, signal.SIGKILL)
    killed = conversion.wait()
    assert isinstance(killed, ConversionFailed)
    assert killed.retry and "SIGKILL" in killed.reason
    assert not (root / "long").exists()
    assert list(root.glob(".*.tmp")) == []

    again = converter.convert("long", long_wav)
    assert isinstance(again, Converted)
    assert again.seconds == pytest.approx(LONG_SECONDS, abs=0.01)
    assert [p.name for p in root.iterdir()] == ["long"]  # no leftovers, not even the lock
    rerun = converter.start("long", long_wav)
    assert rerun.pid is None  # answered from the finished directory: no child, no work
    assert rerun.wait() == again


def test_leftovers_of_a_dead_worker_are_removed_by_the_next_run(tmp_path) -> None:
    root = tmp_path / "d"
    root.mkdir()
    stale = root / ".tone.1234abcd.tmp"
    stale.mkdir()
    (stale / "low.opus").write_bytes(b"OggS half a file")
    source = tmp_path / "tone.mp3"
    write_tone(source, 440, 2.0, 0.3)
    assert isinstance(Converter(root).convert("tone", source), Converted)
    assert not stale.exists()


def test_a_tiny_memory_limit_fails_cleanly_with_a_reason(tmp_path, sources) -> None:
    converter = Converter(tmp_path / "d", ConvertLimits(max_memory_mb=100))
    result = converter.convert("song", sources["mp3"])
    assert isinstance(result, ConversionFailed)
    assert result.reason.startswith("memory limit of 100 MB reached")
    assert not result.retry
    assert not (tmp_path / "d" / "song").exists()


def test_the_cpu_limit_ends_a_costly_conversion(tmp_path, sources) -> None:
    """The 42 s MP3 takes about 3 s of CPU (two MP3 encodes and an Opus one): over 1 s."""
    converter = Converter(tmp_path / "d", ConvertLimits(max_cpu_seconds=1))
    result = converter.convert("song", sources["mp3"])
    assert isinstance(result, ConversionFailed)
    assert result.reason.startswith("CPU limit of 1 s reached")


def test_a_conversion_past_its_wall_time_is_killed(tmp_path, long_wav) -> None:
    converter = Converter(tmp_path / "d", ConvertLimits(timeout_seconds=0.3))
    result = converter.convert("long", long_wav)
    assert isinstance(result, ConversionFailed)
    assert result.retry and "longer than 0.3 s" in result.reason
    assert list((tmp_path / "d").glob(".*.tmp")) == []


def test_a_job_whose_worker_died_runs_again_and_is_recorded_once(tmp_path) -> None:
    clock = FakeClock()
    queue = StoreQueue("convert", MemoryJobStore(), clock=clock, codec=Codec(), visibility=60)
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    write_tone(uploads / "a.mp3", 440, 3.0, 0.3)
    (uploads / "b.mp3").write_bytes(b"\xff\xfb" + bytes(5000))
    recorded: list[Outcome] = []
    jobs = ConvertJobs(queue, Converter(tmp_path / "d"), uploads, recorded.append)
    jobs.submit("a", "a.mp3")
    jobs.submit("b", "b.mp3")

    assert queue.take() is not None  # a worker takes job a, then dies without an ack
    first = jobs.run_once()  # job b: it will never decode, so it is recorded and acked
    assert isinstance(first, ConversionFailed) and not first.retry
    assert jobs.run_once() is None  # a is still leased to the dead worker
    clock.advance(61)
    second = jobs.run_once()
    assert isinstance(second, Converted) and second.content_id == "a"
    assert jobs.run_once() is None
    assert [o.content_id for o in recorded] == ["b", "a"]
    assert queue.counts() == {"ready": 0, "taken": 0, "dead": 0}


@pytest.mark.parametrize(
    "payload",
    [
        None,
        {"kind": "scan", "content_id": "a", "source": "a.mp3"},
        {"kind": "convert", "content_id": "../etc", "source": "a.mp3"},
        {"kind": "convert", "content_id": "a" * 129, "source": "a.mp3"},
        {"kind": "convert", "content_id": "a", "source": "../a.mp3"},
        {"kind": "convert", "content_id": "a", "source": ".."},
        {"kind": "convert", "content_id": "a", "source": "x" * 256},
        {"kind": "convert", "content_id": "a", "source": 5},
    ],
)
def test_malformed_convert_jobs_are_refused(payload) -> None:
    with pytest.raises(InvalidInput):
        parse_convert_job(payload)
