"""Real players against a live station: VLC and mpv decode its streams and playlists.

VLC decodes into a WAV file (``--sout`` transcode): the same access, demuxer, packetizer
and decoder as playing, but as fast as the station sends, which on the simulated clock is
faster than real time. ``--stop-time`` ends it after that many seconds of program.
mpv decodes in its encoding mode (``--o``), likewise unpaced. Each test skips, naming the
Debian package, where its player is missing (``python3 run.py test`` installs them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

CVLC = shutil.which("cvlc")
MPV = shutil.which("mpv")
SETPRIV = shutil.which("setpriv")
NOBODY = 65534
#: What VLC logs about its surroundings (no display, no D-Bus, no sound server).
_ENVIRONMENT = ("interface", "dbus", "audio output", "globalhotkeys")


def _need_vlc() -> str:
    if CVLC is None:
        pytest.skip("VLC is missing (apt-get install -y vlc-bin vlc-plugin-base)")
    if os.geteuid() == 0 and SETPRIV is None:
        pytest.skip("VLC refuses to run as root and setpriv (util-linux) is missing")
    return CVLC


@pytest.fixture
def player_dir() -> Iterator[Path]:
    """A directory VLC may write to even when dropped to ``nobody`` (pytest's tmp_path
    is private to root)."""
    with tempfile.TemporaryDirectory(prefix="qfzz-player-") as name:
        os.chmod(name, 0o777)
        yield Path(name)


def vlc_decode(url: str, home: Path, seconds: int) -> tuple[str, Path]:
    """VLC's verbose log and the WAV it decoded from ``seconds`` of ``url``.

    VLC refuses to run as root ("VLC is not supposed to be run as root"), so under root it
    runs as ``nobody`` (``setpriv``), with ``home`` for its configuration.
    """
    out = home / "vlc.wav"
    command = [
        _need_vlc(),
        "--intf=dummy",
        "-vv",
        "--no-color",
        f"--stop-time={seconds}",
        "--sout=#transcode{acodec=s16l,channels=2,samplerate=48000}"
        f":std{{access=file,mux=wav,dst={out}}}",
        url,
        "vlc://quit",
    ]
    if os.geteuid() == 0:
        assert SETPRIV is not None
        command = [SETPRIV, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *command]
    result = subprocess.run(
        command,
        env={"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    return log, out


def decoder_errors(log: str) -> list[str]:
    """VLC's complaints about the stream itself: packetizer resyncs, decoder errors."""
    return [
        line
        for line in log.splitlines()
        if "emulated startcode" in line
        or ("error" in line and not any(word in line for word in _ENVIRONMENT))
    ]


def wav_seconds_and_level(path: Path) -> tuple[float, float]:
    """How long the decoded audio is, and its RMS level (0 is silence, 1 full scale)."""
    with wave.open(str(path)) as wav:
        frames = wav.readframes(wav.getnframes())
        seconds = wav.getnframes() / wav.getframerate()
    samples = np.frombuffer(frames, dtype="<i2").astype(np.float64) / 32768
    return seconds, float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0


@pytest.mark.parametrize(("fmt", "decoder"), [("mp3", "mpg123"), ("opus", "opus")])
def test_vlc_plays_30_seconds_without_a_decoder_error(live, player_dir, fmt, decoder):
    _, token = live.sign_in()
    log, wav = vlc_decode(f"{live.url}/stream/main?format={fmt}&token={token}", player_dir, 30)
    assert f'using audio decoder module "{decoder}"' in log
    # VLC asks radio with HTTP/1.0 (its ICY access) and got the audio unframed
    assert "HTTP/1.0" in log
    assert decoder_errors(log) == []
    seconds, level = wav_seconds_and_level(wav)
    assert 29.5 <= seconds <= 31  # all of it: Opus once stopped after 8 s
    assert level > 0.01  # tones, not silence


# -- playlist files ---------------------------------------------------------------------


def _need_mpv() -> str:
    if MPV is None:
        pytest.skip("mpv is missing (apt-get install -y mpv)")
    return MPV


def mpv_decode(url: str, out: Path, seconds: int) -> str:
    """mpv's log as it decodes ``seconds`` of ``url`` into ``out`` (encoding mode: as fast
    as the station sends, no audio device)."""
    command = [
        _need_mpv(),
        "--no-config",
        "--msg-level=all=v",
        "--no-video",
        f"--length={seconds}",
        f"--o={out}",
        "--of=wav",
        "--oac=pcm_s16le",
        url,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    return log


@pytest.mark.parametrize(
    ("path", "query", "codec"),
    [
        ("/stream/main.m3u", "format=opus", "opus"),
        ("/stream/main.pls", "bitrate=96", "mp3"),
        ("/api/v1/listeners/ann/stream.m3u", "", "mp3"),
    ],
)
def test_mpv_plays_the_playlist_files(live, player_dir, path, query, codec):
    live.sign_in()
    key = live.station.accounts.create_stream_key("ann")
    wav = player_dir / "mpv.wav"
    log = mpv_decode(f"{live.url}{path}?key={key}&{query}", wav, 5)
    assert f"Detected file format: {path[-3:]}" in log  # it read the playlist …
    assert f"Selected codec: {codec}" in log  # … and decoded the stream it names
    seconds, level = wav_seconds_and_level(wav)
    assert seconds >= 4.5 and level > 0.01


@pytest.mark.parametrize(
    ("kind", "found"), [("m3u", "valid M3U playlist"), ("pls", "valid PLS playlist")]
)
def test_vlc_plays_the_playlist_files(live, player_dir, kind, found):
    live.sign_in()
    key = live.station.accounts.create_stream_key("ann")
    log, wav = vlc_decode(f"{live.url}/stream/main.{kind}?key={key}&format=opus", player_dir, 10)
    assert f"found {found}" in log
    assert 'using audio decoder module "opus"' in log
    assert decoder_errors(log) == []
    seconds, level = wav_seconds_and_level(wav)
    assert 9.5 <= seconds <= 11 and level > 0.01
