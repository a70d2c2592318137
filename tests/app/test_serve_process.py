"""The real server in a subprocess: acknowledged feedback survives SIGKILL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from mutagen.easyid3 import EasyID3

from qfzz.app import build_station
from qfzz.audio import encode_audio_file
from qfzz.settings import Settings

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _library(root: Path) -> Path:
    root.mkdir()
    rate = 22050
    t = np.arange(rate) / rate
    for n, (genre, artist) in enumerate(
        [("jazz", "Ann Trio"), ("rock", "Bob Band"), ("jazz", "Cat Quartet")]
    ):
        wave = (0.2 * np.sin(2 * np.pi * (220 + 110 * n) * t)).astype(np.float32)
        path = root / f"{n}.mp3"
        encode_audio_file(np.stack([wave, wave]), rate, path, bitrate_kbps=64)
        tags = EasyID3()
        tags.update({"title": f"Song {n}", "artist": artist, "genre": genre})
        tags.save(path)
    return root


class Server:
    def __init__(self, data_dir: Path, library: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "QFZZ_LOG_LEVEL": "WARNING"}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "qfzz",
                "serve",
                "--data-dir",
                str(data_dir),
                "--library",
                str(library),
                "--port",
                str(self.port),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(self.process.stderr.read().decode())
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError("server did not start")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.process.stderr.close()


def test_acknowledged_interaction_survives_sigkill(tmp_path):
    data, library = tmp_path / "data", _library(tmp_path / "music")
    server = Server(data, library)
    try:
        created = httpx.post(
            f"{server.url}/api/v1/listeners",
            json={"user_id": "ann", "password": "pw-1234", "preferences": {"genres": ["rock"]}},
        )
        assert created.status_code == 201
        auth = {"Authorization": f"Bearer {created.json()['token']}"}
        tracks = httpx.get(f"{server.url}/api/v1/tracks?genre=jazz", headers=auth).json()
        tracks = tracks["tracks"]
        ack = httpx.post(
            f"{server.url}/api/v1/listeners/ann/interactions",
            json={"track_id": tracks[0]["track_id"], "type": "favorite"},
            headers=auth,
        )
        assert ack.status_code == 201
    finally:
        server.kill()  # no shutdown hook runs: only what was committed can survive

    station = build_station(Settings(data_dir=data, demo_library=False))
    station.start()
    try:
        history = station.parts.store.interactions.for_listener("ann")
        assert [(i.track_id, i.type.value) for i in history] == [
            (tracks[0]["track_id"], "favorite")
        ]
        profile = station.profile("ann")  # the stored snapshot plus the replayed log
        assert profile.weight("genre", "jazz") == pytest.approx(0.2)
        assert profile.weight("genre", "rock") == pytest.approx(0.8)
    finally:
        station.close()

    again = Server(data, library)
    try:
        playlist = httpx.get(f"{again.url}/api/v1/listeners/ann/playlist", headers=auth).json()
        assert len(playlist["tracks"]) == 3
        assert httpx.get(f"{again.url}/api/v1/health").json()["tracks"] == 3
        # the favorite was a trust vote, acknowledged but never mined before the kill
        content, creator = tracks[0]["content_id"], tracks[0]["creator_id"]
        trust = httpx.get(f"{again.url}/api/v1/trust/{content}/{creator}", headers=auth).json()
        assert (trust["verifications"], trust["reports"], trust["score"]) == (1, 0, 1.0)
        assert httpx.get(f"{again.url}/api/v1/ledger/verify").json()["valid"] is True
    finally:
        again.kill()
