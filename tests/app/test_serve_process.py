"""The real server in a subprocess: acknowledged feedback survives SIGKILL."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest
from mutagen.easyid3 import EasyID3

from qfzz.app import build_station
from qfzz.audio import encode_audio_file
from qfzz.settings import Settings
from qfzz.testing import ServeProcess

pytestmark = pytest.mark.slow


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


def Server(data_dir: Path, library: Path) -> ServeProcess:
    """`qfzz serve` on the library, started and healthy."""
    return ServeProcess(data_dir, args=("--library", str(library))).start().wait_healthy(60)


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
        assert profile.weight("genre", "jazz") == pytest.approx(4 / 6)  # a favorite: 4 plays
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
