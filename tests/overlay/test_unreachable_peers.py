"""The overlay is never on the path of listening: a station whose every peer is unreachable
(a closed port, and a host that accepts connections and never answers) serves sign-ups,
playlists and audio as one with no peers, and ``qfzz node join`` refuses a peer it cannot
reach without changing anything, and keeps one it reached."""

from __future__ import annotations

import socket
import subprocess
import sys

import httpx
import pytest

from qfzz.overlay import read_seeds
from qfzz.testing import ServeProcess, free_port, wait_for, write_tone_library

pytestmark = pytest.mark.slow


def _qfzz(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qfzz", *args], capture_output=True, text=True, timeout=120
    )


def _metric(url: str, line_start: str) -> float:
    for line in httpx.get(f"{url}/metrics", timeout=5).text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_a_station_with_only_unreachable_peers_plays_as_usual(tmp_path):
    library = write_tone_library(tmp_path / "music")
    with socket.socket() as blackhole:  # accepts connections (backlog) and never answers
        blackhole.bind(("127.0.0.1", 0))
        blackhole.listen(16)
        silent = f"http://127.0.0.1:{blackhole.getsockname()[1]}"
        closed = f"http://127.0.0.1:{free_port()}"
        env = {"QFZZ_PEERS": f"{closed},{silent}", "QFZZ_HANDSHAKE_INTERVAL_SEC": "0.2"}
        node = ServeProcess(tmp_path / "data", env=env, args=("--library", str(library)))
        node.start()
        try:
            node.wait_healthy()
            url = node.url
            # the overlay really is trying, and failing, the whole time
            assert wait_for(
                lambda: (
                    _metric(url, 'qfzz_network_outbound_handshakes_total{outcome="failed"}') >= 3
                ),
                timeout=30,
            )
            created = httpx.post(
                f"{url}/api/v1/listeners",
                json={"user_id": "ann", "password": "pw-1234", "preferences": {}},
                timeout=30,
            )
            assert created.status_code == 201
            auth = {"Authorization": f"Bearer {created.json()['token']}"}
            playlist = httpx.get(f"{url}/api/v1/listeners/ann/playlist", headers=auth, timeout=30)
            assert playlist.status_code == 200 and len(playlist.json()["tracks"]) == 6
            received = 0
            with httpx.stream("GET", f"{url}/stream/main", headers=auth, timeout=30) as audio:
                assert audio.status_code == 200
                for chunk in audio.iter_bytes():
                    received += len(chunk)
                    if received >= 32_000:
                        break
            assert received >= 32_000

            # join: an unreachable peer is refused and changes nothing ...
            other = tmp_path / "other"
            refused = _qfzz("node", "join", closed, "--data-dir", str(other))
            assert refused.returncode == 1
            assert "error" in refused.stderr and closed in refused.stderr
            assert read_seeds(other) == []
            # ... a reachable one is handshaken and kept as a seed
            joined = _qfzz("node", "join", url, "--data-dir", str(other))
            assert joined.returncode == 0, joined.stderr
            node_id = httpx.get(f"{url}/api/system.version", timeout=5).json()["node_id"]
            assert f"joined {node_id}" in joined.stdout
            assert read_seeds(other) == [url]
        finally:
            node.kill()
