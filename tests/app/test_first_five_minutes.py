"""The first start as a user makes it: `qfzz serve` on a fresh data directory, no library.

The port answers at once with health `starting` and the step it is at; a radio listener
(ffmpeg) hears the demo's first tracks while the rest is still being made; health then
says `ok`; a restart says nothing of making a demo. The demo's render workers are
stopped (SIGSTOP) once a few tracks exist, so "before the library is complete" is a
state the test holds, not a race it hopes to win.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import imageio_ffmpeg
import numpy as np
import pytest

from qfzz.serving import SERVER_FILE, served_at
from qfzz.settings import Settings
from qfzz.store import open_store
from qfzz.testing import ServeProcess, wait_for, write_tone_library

pytestmark = pytest.mark.slow

LISTEN_SECONDS = 5


def _health(url: str) -> tuple[int, dict] | None:
    try:
        answer = httpx.get(f"{url}/api/v1/health", timeout=2)
    except httpx.HTTPError:
        return None
    return answer.status_code, answer.json()


def _render_workers(server: int) -> list[int]:
    """The demo's render processes: spawned children of the server."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if parent == server and b"spawn_main" in command:
            found.append(int(stat.parent.name))
    return found


def _listen(url: str) -> np.ndarray:
    created = httpx.post(
        f"{url}/api/v1/listeners",
        json={"user_id": "ann", "password": "pw-1234", "preferences": {}},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    auth = {"Authorization": f"Bearer {created.json()['token']}"}
    token = httpx.get(f"{url}/api/v1/auth/stream-token", headers=auth, timeout=10).json()
    done = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin",
         "-t", str(LISTEN_SECONDS), "-i", f"{url}/stream/main?token={token['token']}",
         "-f", "s16le", "-ac", "1", "-ar", "8000", "-"],
        capture_output=True,
        timeout=LISTEN_SECONDS + 60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return np.frombuffer(done.stdout, dtype=np.int16).astype(np.float64) / 32768


def test_the_port_answers_at_once_and_music_plays_before_the_demo_is_made(tmp_path):
    server = ServeProcess(tmp_path / "data", args=()).start()  # the demo: no library given
    assert server.process is not None
    frozen: list[int] = []
    try:
        assert wait_for(lambda: _health(server.url) is not None, 60)
        status, first = _health(server.url) or (0, {})
        assert status == 503 and first["status"] == "starting"
        assert first["starting"]["step"] in ("preparing the library", "creating the demo library")
        # a few tracks made and scanned; then the rest is held back
        assert wait_for(lambda: (_health(server.url) or (0, {}))[1].get("tracks", 0) >= 2, 120)
        frozen = _render_workers(server.process.pid)
        assert frozen
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        audio = _listen(server.url)
        status, during = _health(server.url) or (0, {})
        assert status == 503 and during["status"] == "starting"
        assert during["starting"]["done"] < during["starting"]["total"] == 64
        assert len(audio) >= (LISTEN_SECONDS - 0.5) * 8000
        assert np.sqrt(np.mean(audio**2)) > 0.01  # music, not the silence of no tracks
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
        frozen = []
        server.wait_healthy(180)
        status, ready = _health(server.url) or (0, {})
        assert status == 200 and ready == {"status": "ok", "running": True, "tracks": 64}
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
        server.stop()
    log_size = server.log.stat().st_size
    info = {"QFZZ_LOG_LEVEL": "INFO"}  # the steps are logged at INFO
    again = ServeProcess(tmp_path / "data", env=info, args=(), port=server.port).start()
    try:
        again.wait_healthy(60)
        said = server.log.read_bytes()[log_size:].decode(errors="replace")
        assert "demo library" not in said  # a restart makes nothing and says so
        assert "station started: 64 tracks indexed" in said
    finally:
        again.stop()


@pytest.mark.parametrize(
    ("stop", "times"),
    [(signal.SIGINT, 1), (signal.SIGTERM, 1), (signal.SIGINT, 2)],
    ids=["SIGINT", "SIGTERM", "SIGINT twice"],
)
def test_a_stop_with_listeners_connected_is_quick_and_keeps_what_was_acknowledged(
    tmp_path, stop, times
):
    """Radio streams never end by themselves: the server cancels them after its short
    grace instead of waiting for every listener to hang up (it took 30 s), and an
    interaction acknowledged just before the signal is there after it — also when an
    impatient operator presses Ctrl-C again while it stops (it then stops at once).
    The server's word in server.json goes with it."""
    library = write_tone_library(tmp_path / "music", tracks=3, seconds=10.0)
    server = ServeProcess(tmp_path / "data", args=("--library", str(library))).start()
    listeners: list[subprocess.Popen[bytes]] = []
    try:
        server.wait_healthy()
        assert server.process is not None
        created = httpx.post(
            f"{server.url}/api/v1/listeners",
            json={"user_id": "ann", "password": "pw-1234", "preferences": {}},
            timeout=10,
        )
        auth = {"Authorization": f"Bearer {created.json()['token']}"}
        token = httpx.get(f"{server.url}/api/v1/auth/stream-token", headers=auth).json()
        ffmpeg = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-i"]
        stream = f"{server.url}/stream/main?token={token['token']}"
        for _ in range(3):
            listeners.append(
                subprocess.Popen(
                    [*ffmpeg, stream, "-f", "null", "-"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        assert wait_for(lambda: _listening(server.url) >= 3)
        track = httpx.get(f"{server.url}/api/v1/tracks", headers=auth).json()["tracks"][0]
        liked = httpx.post(
            f"{server.url}/api/v1/listeners/ann/interactions",
            json={"track_id": track["track_id"], "type": "like"},
            headers=auth,
        )
        assert liked.status_code == 201, liked.text
        assert served_at(server.data_dir) is not None
        started = time.monotonic()
        for _ in range(times):
            server.process.send_signal(stop)
        server.process.wait(timeout=15)  # it used to wait for the listeners forever
        print(f"stopped {time.monotonic() - started:.2f} s after {stop.name} x{times}")
        assert server.process.returncode in (0, -stop, 128 + stop)
        assert served_at(server.data_dir) is None
        if times == 1:  # a stop that ran its course took its word back (SIGTERM did not)
            assert not (server.data_dir / SERVER_FILE).exists()
    finally:
        for listener in listeners:
            listener.kill()
            listener.wait()
        server.stop()
    store = open_store(Settings(data_dir=tmp_path / "data").resolved_database_url)
    try:
        assert [i.type.value for _, i in store.interactions.history("ann")] == ["like"]
    finally:
        store.close()


def _listening(url: str) -> float:
    """Listeners connected, as the server's metrics count them."""
    metrics = httpx.get(f"{url}/metrics", timeout=5).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("qfzz_listeners{")
    )
