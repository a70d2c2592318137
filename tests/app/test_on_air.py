"""The shared mount made once in a station of two processes, heard through both: the
process holding the mount's lease encodes it, the other serves its listeners from the
log on Redis; when the maker is killed, the other takes the lease and its listener goes
on hearing audio without reconnecting (real processes, ffmpeg as the listener)."""

from __future__ import annotations

import re
import subprocess
import time
import uuid
from urllib.parse import quote

import httpx
import imageio_ffmpeg
import pytest
import redis
from sqlalchemy import create_engine, text

from qfzz.testing import ServeProcess, wait_for, write_tone_library

pytestmark = pytest.mark.slow

LISTEN_SECONDS = 14


def _makes_main(url: str) -> bool:
    try:
        text_ = httpx.get(f"{url}/metrics", timeout=5).text
    except httpx.HTTPError:
        return False
    return re.search(r'^qfzz_mount_made_here\{mount="main"\} 1\.0$', text_, re.M) is not None


def test_the_shared_mount_is_made_once_and_survives_its_maker(tmp_path, postgres_url, redis_url):
    env = {
        "QFZZ_DATABASE_URL": postgres_url,
        "QFZZ_CACHE_URL": redis_url,
        "QFZZ_CACHE_PREFIX": f"qfzz-test-{uuid.uuid4().hex[:8]}:",
        "QFZZ_SECRET_KEY": "one station, two processes, one mount",
        "QFZZ_CROSSFADE_SECONDS": "0.5",
    }
    library = write_tone_library(tmp_path / "music", tracks=4, seconds=10.0)
    a = ServeProcess(tmp_path / "a" / "data", env=env, args=("--library", str(library)))
    b = ServeProcess(tmp_path / "b" / "data", env=env, args=("--library", str(library)))
    listener = None
    try:
        a.start()
        b.start()
        a.wait_healthy()
        b.wait_healthy()
        assert wait_for(lambda: _makes_main(a.url) or _makes_main(b.url))
        maker, other = (a, b) if _makes_main(a.url) else (b, a)
        assert not _makes_main(other.url)  # one maker in the station
        created = httpx.post(
            f"{other.url}/api/v1/listeners",
            json={"user_id": "ann", "password": "pw-1234", "preferences": {}},
        )
        assert created.status_code == 201, created.text
        auth = {"Authorization": f"Bearer {created.json()['token']}"}
        token = httpx.get(f"{other.url}/api/v1/auth/stream-token", headers=auth).json()["token"]
        listener = subprocess.Popen(
            [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin",
             "-t", str(LISTEN_SECONDS), "-i", f"{other.url}/stream/main?token={token}",
             "-f", "s16le", "-ac", "1", "-ar", "8000", "-"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        # the maker encodes for the other process's listener: six seconds in its log
        packets = redis.Redis.from_url(redis_url)
        key = f"{env['QFZZ_CACHE_PREFIX']}log:" + quote("mount:main:mp3:128", safe="")
        assert wait_for(lambda: packets.xlen(key) >= 6 * 38)
        packets.close()
        engine = create_engine(postgres_url)
        epoch = text("SELECT epoch FROM leases WHERE name = 'mount:main'")
        with engine.connect() as conn:
            first = conn.execute(epoch).scalar()
        maker.kill()  # SIGKILL mid-stream: no lease given up, no goodbye
        killed = time.monotonic()
        assert wait_for(lambda: _makes_main(other.url))  # it took the lease over
        print(f"lease taken over {time.monotonic() - killed:.1f} s after the kill")
        with engine.connect() as conn:
            after = conn.execute(epoch).scalar()
        engine.dispose()
        assert after == first + 1
        audio, log = listener.communicate(timeout=LISTEN_SECONDS + 60)
        assert listener.returncode == 0, log[-2000:]
        heard = len(audio) / 2 / 8000
        assert heard >= LISTEN_SECONDS - 1.5, (heard, log[-2000:])  # no reconnect needed
    finally:
        if listener is not None and listener.poll() is None:
            listener.kill()
        a.stop()
        b.stop()
