"""HAProxy (Debian's package) in front of two `qfzz serve` processes of one station on
PostgreSQL and Redis, driven by the real clients the suite uses elsewhere: py-sonic for
the Subsonic API and ffmpeg on a radio stream. Requests land on either process in turn
(round robin); every answer must be right whichever one gave it, also after one dies."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import imageio_ffmpeg
import libsonic
import numpy as np
import pytest
from mutagen.easyid3 import EasyID3

from qfzz.audio import encode_audio_file
from qfzz.testing import ServeProcess, free_port, wait_for

pytestmark = pytest.mark.slow

HAPROXY = shutil.which("haproxy") or (
    "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
)
CONFIG = """
global
    maxconn 512
defaults
    mode http
    option forwardfor
    timeout connect 5s
    timeout client 120s
    timeout server 120s
frontend station
    bind 127.0.0.1:{port}
    default_backend processes
backend processes
    balance roundrobin
    option httpchk GET /api/v1/health
    server a 127.0.0.1:{a} check inter 300ms fall 2 rise 1
    server b 127.0.0.1:{b} check inter 300ms fall 2 rise 1
"""


def _library(root: Path) -> Path:
    """Four 6-second tones, tagged, in two genres."""
    root.mkdir()
    rate = 22050
    t = np.arange(6 * rate) / rate
    for n in range(4):
        wave = (0.2 * np.sin(2 * np.pi * (220 + 55 * n) * t)).astype(np.float32)
        path = root / f"{n}.mp3"
        encode_audio_file(np.stack([wave, wave]), rate, path, bitrate_kbps=64)
        tags = EasyID3()
        tags.update(
            {"title": f"Tone {n}", "artist": f"Band {n % 2}", "album": f"Album {n % 2}",
             "genre": ["jazz", "rock"][n % 2]}
        )  # fmt: skip
        tags.save(path)
    return root


@pytest.fixture
def balanced(tmp_path, postgres_url, redis_url) -> Iterator[tuple[str, ServeProcess, ServeProcess]]:
    if HAPROXY is None:
        pytest.skip("haproxy is not installed (apt-get install haproxy; run.py installs it)")
    env = {
        "QFZZ_DATABASE_URL": postgres_url,
        "QFZZ_CACHE_URL": redis_url,
        "QFZZ_CACHE_PREFIX": f"qfzz-test-{uuid.uuid4().hex[:8]}:",
        "QFZZ_SECRET_KEY": "one station behind haproxy",
        "QFZZ_TRUSTED_PROXIES": "127.0.0.1",
    }
    library = _library(tmp_path / "music")
    # both scan the library at start, at the same moment, into the one database: the
    # station-wide scan lock makes the second wait, then find every file known
    a = ServeProcess(tmp_path / "a" / "data", env=env, args=("--library", str(library)))
    b = ServeProcess(tmp_path / "b" / "data", env=env, args=("--library", str(library)))
    port = free_port()
    config = tmp_path / "haproxy.cfg"
    proxy = None
    try:
        a.start()
        b.start()
        a.wait_healthy()
        b.wait_healthy()
        config.write_text(CONFIG.format(port=port, a=a.port, b=b.port))
        proxy = subprocess.Popen(
            [HAPROXY, "-db", "-f", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        assert wait_for(lambda: _answers(url))
        yield url, a, b
    finally:
        if proxy is not None:
            proxy.terminate()
            proxy.wait(10)
        a.stop()
        b.stop()


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _sign_up(url: str) -> tuple[dict[str, str], str]:
    created = httpx.post(
        f"{url}/api/v1/listeners",
        json={"user_id": "ann", "password": "pw-1234", "preferences": {"genres": ["jazz"]}},
    )
    assert created.status_code == 201, created.text
    auth = {"Authorization": f"Bearer {created.json()['token']}"}
    password = httpx.get(f"{url}/api/v1/me/app-password", headers=auth).json()["app_password"]
    return auth, password


def _subsonic_requests(url: str) -> float:
    """Subsonic requests one process answered (its own /metrics, asked directly)."""
    text = httpx.get(f"{url}/metrics", timeout=5).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("qfzz_http_request_duration_seconds_count") and "/rest/" in line
    )


def _stream_seconds(url: str, auth: dict[str, str], seconds: int) -> float:
    """What ffmpeg decodes from the shared radio mount through the proxy in ``seconds``."""
    token = httpx.get(f"{url}/api/v1/auth/stream-token", headers=auth).json()["token"]
    done = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-t", str(seconds),
         "-i", f"{url}/stream/main?token={token}", "-f", "s16le", "-ac", "1", "-ar", "8000", "-"],
        capture_output=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return len(done.stdout) / 2 / 8000


def test_subsonic_and_radio_clients_through_haproxy_reach_either_process(balanced):
    url, a, b = balanced
    auth, password = _sign_up(url)
    host, port = url.rsplit(":", 1)
    sonic = libsonic.Connection(host, "ann", password, port=int(port))
    # round robin: these calls alternate between the two processes, all answer the same
    for _ in range(4):
        assert sonic.ping() is True
        songs = sonic.search3("tone")["searchResult3"]["song"]
        assert sorted(s["title"] for s in songs) == ["Tone 0", "Tone 1", "Tone 2", "Tone 3"]
        albums = sonic.getAlbumList2("alphabeticalByName", size=10)["albumList2"]["album"]
        assert [x["name"] for x in albums] == ["Album 0", "Album 1"]
    song = next(s for s in songs if s["title"] == "Tone 2")
    sonic.star(sids=[song["id"]])  # stored by one process, read by the other
    for _ in range(2):
        starred = sonic.getStarred2()["starred2"].get("song", [])
        assert [s["title"] for s in starred] == ["Tone 2"]
    assert _stream_seconds(url, auth, 4) == pytest.approx(4.0, abs=0.5)
    assert _subsonic_requests(a.url) > 0 and _subsonic_requests(b.url) > 0  # both served
    a.kill()  # HAProxy's health check takes a out; b answers everything
    assert wait_for(lambda: all(sonic.ping() for _ in range(4)))
    assert sorted(s["title"] for s in sonic.search3("tone")["searchResult3"]["song"]) == [
        "Tone 0", "Tone 1", "Tone 2", "Tone 3"
    ]  # fmt: skip
    assert _stream_seconds(url, auth, 3) == pytest.approx(3.0, abs=0.5)
