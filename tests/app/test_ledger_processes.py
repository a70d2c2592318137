"""The trust ledger with writers it does not know: `qfzz interact` and `qfzz ledger mine`
run in their own processes beside a serving station (real processes, loopback HTTP)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from qfzz.testing import ServeProcess, wait_for, write_tone

pytestmark = pytest.mark.slow


def _library(root: Path) -> Path:
    root.mkdir()
    for n, (genre, artist) in enumerate([("jazz", "Ann Trio"), ("rock", "Bob Band")]):
        tags = {"title": f"Song {n}", "artist": artist, "genre": genre}
        write_tone(root / f"{n}.mp3", 220.0 + 110 * n, 1.0, 0.2, tags)
    return root


def _env(**ledger: str) -> dict[str, str]:
    return {**os.environ, "QFZZ_LOG_LEVEL": "WARNING", "QFZZ_DIFFICULTY": "1", **ledger}


class Serving(ServeProcess):
    """`qfzz serve` in a subprocess, started and healthy, with the calls these tests make."""

    def __init__(self, data: Path, library: Path, env: dict[str, str]) -> None:
        super().__init__(data, env=env, args=("--library", str(library)))
        self.start().wait_healthy(60)

    def get(self, path: str, **kwargs):
        return httpx.get(f"{self.url}{path}", timeout=10, **kwargs)

    def post(self, path: str, **kwargs):
        return httpx.post(f"{self.url}{path}", timeout=10, **kwargs)

    def sign_up(self, user: str) -> dict[str, str]:
        created = self.post(
            "/api/v1/listeners", json={"user_id": user, "password": "pw-1234", "preferences": {}}
        )
        assert created.status_code == 201, created.text
        return {"Authorization": f"Bearer {created.json()['token']}"}

    def stop(self) -> None:
        self.kill()


def qfzz(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qfzz", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_a_cli_vote_beside_a_serving_station_is_counted_and_sealed(tmp_path):
    data, library = tmp_path / "data", _library(tmp_path / "music")
    env = _env(QFZZ_MINE_EVERY_RECORDS="1", QFZZ_MINE_EVERY_SECONDS="3600")
    server = Serving(data, library, env)
    try:
        auth = server.sign_up("ann")
        server.sign_up("bob")
        track = server.get("/api/v1/tracks?genre=jazz", headers=auth).json()["tracks"][0]
        done = qfzz(env, "interact", "bob", str(track["track_id"]), "like", "--data-dir", str(data))
        assert done.returncode == 0, done.stderr
        trust_url = f"/api/v1/trust/{track['content_id']}/{track['creator_id']}"

        def counted_and_sealed() -> bool:
            record = server.get(trust_url, headers=auth).json()
            page = server.get("/api/v1/ledger?from=1", headers=auth).json()
            sealed = [c for b in page["blocks"] for c in b["changes"]]
            return record["verifications"] == 1 and page["pending"] == 0 and len(sealed) == 1

        assert wait_for(counted_and_sealed, timeout=30)
        assert server.get("/api/v1/ledger/verify").json()["valid"] is True
    finally:
        server.stop()


def test_ledger_mine_beside_a_serving_station_does_not_stop_its_miner(tmp_path):
    data, library = tmp_path / "data", _library(tmp_path / "music")
    env = _env(QFZZ_MINE_EVERY_RECORDS="2", QFZZ_MINE_EVERY_SECONDS="3600")
    server = Serving(data, library, env)
    try:
        auth = {user: server.sign_up(user) for user in ("ann", "bob")}
        tracks = server.get("/api/v1/tracks", headers=auth["ann"]).json()["tracks"]

        def vote(user: str, track: dict, kind: str) -> None:
            url = f"/api/v1/listeners/{user}/interactions"
            answer = server.post(
                url, json={"track_id": track["track_id"], "type": kind}, headers=auth[user]
            )
            assert answer.status_code == 201, answer.text

        vote("ann", tracks[0], "like")  # pending in the server (1 < 2: it does not mine)
        mined = qfzz(env, "ledger", "mine", "--data-dir", str(data))
        assert mined.returncode == 0 and "height 2" in mined.stdout, mined.stderr
        vote("ann", tracks[1], "like")
        vote("bob", tracks[0], "dislike")

        def mined_on_top() -> bool:
            return server.get("/api/v1/ledger", headers=auth["ann"]).json()["height"] >= 3

        assert wait_for(mined_on_top, timeout=30)
        page = server.get("/api/v1/ledger", headers=auth["ann"]).json()
        assert [b["index"] for b in page["blocks"]] == [0, 1, 2]
        assert sum(len(b["changes"]) for b in page["blocks"]) + page["pending"] == 3
        assert server.get("/api/v1/ledger/verify").json()["valid"] is True
        vote("bob", tracks[1], "like")
        vote("ann", tracks[0], "dislike")  # the miner keeps going: no restart needed
        assert wait_for(
            lambda: server.get("/api/v1/ledger", headers=auth["ann"]).json()["height"] >= 4,
            timeout=30,
        )
    finally:
        server.stop()
