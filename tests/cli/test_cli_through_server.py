"""The CLI knows the running station: what changes what it serves goes through it.

A real ``qfzz serve`` on a data directory, and the ``qfzz`` command run as a user runs it
beside it. Before, a scan or an import from the CLI wrote into the database under the
server, which never saw it (health stayed at the old count until a restart), and ``qfzz
cache stats`` showed the counters of the command's own, empty, station.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from qfzz.serving import SERVER_FILE, announce, served_at, withdraw
from qfzz.settings import Settings
from qfzz.store import open_store
from qfzz.testing import ServeProcess, free_port, write_tone_library

pytestmark = pytest.mark.slow

THROUGH = "through the station at"


def qfzz(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QFZZ_LOG_LEVEL": "WARNING", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "qfzz", *args, "--data-dir", str(data)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    assert THROUGH in done.stderr, done.stderr  # not written under the server
    return done.stdout


def test_commands_that_change_the_station_go_through_its_server(tmp_path):
    library = write_tone_library(tmp_path / "music", tracks=3)
    server = ServeProcess(tmp_path / "data", args=("--library", str(library))).start()
    data = server.data_dir
    try:
        server.wait_healthy()
        assert served_at(data) is not None and served_at(data).url == server.url  # type: ignore[union-attr]
        second = qfzz(data, "serve", "--port", str(free_port()))
        assert second.returncode == 1 and "serves" in second.stderr and "already" in second.stderr

        more = write_tone_library(tmp_path / "more", tracks=2)
        (more / "broken.mp3").write_bytes(b"not audio")
        scanned = ok(qfzz(data, "scan", str(more)))
        assert "2 added" in scanned and "1 unreadable" in scanned
        assert httpx.get(f"{server.url}/api/v1/health").json()["tracks"] == 5  # seen at once

        added = ok(qfzz(data, "listener", "add", "bob", "--genre", "rock"))
        token = added.split("token: ")[1].strip()
        bob = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{server.url}/api/v1/me", headers=bob).json()["user_id"] == "bob"
        tracks = httpx.get(f"{server.url}/api/v1/tracks", headers=bob).json()["tracks"]
        liked = ok(qfzz(data, "interact", "bob", str(tracks[0]["track_id"]), "like"))
        assert f"recorded like of track {tracks[0]['track_id']} by bob" in liked
        assert tracks[0]["genre"] in liked  # the weights the server learned, shown
        httpx.get(f"{server.url}/api/v1/tracks/{tracks[1]['track_id']}", headers=bob)
        httpx.get(f"{server.url}/api/v1/tracks/{tracks[1]['track_id']}", headers=bob)

        stats = json.loads(ok(qfzz(data, "cache", "stats", "--json")))
        assert stats["namespaces"]["track"]["hits"] >= 1  # the server's counters
        table = ok(qfzz(data, "cache", "stats"))
        assert "track" in table
        cleared = ok(qfzz(data, "cache", "clear", "track"))
        assert "cleared" in cleared and "cleared 0 " not in cleared

        search = f"{server.url}/api/v1/tracks?q=Zanzibar"
        assert httpx.get(search, headers=bob).json()["total"] == 0  # and now cached
        dataset = tmp_path / "set.json"
        records = [
            {"title": f"Zanzibar {i}", "artist": f"A{i % 5}", "genre": f"g{i % 7}"}
            for i in range(40)
        ]
        dataset.write_text(json.dumps(records))
        imported = ok(qfzz(data, "datasets", "import", str(dataset), "--license", "CC0-1.0"))
        assert "added 40 tracks" in imported
        assert httpx.get(search, headers=bob).json()["total"] == 40  # the server's cache knew

        mined = ok(qfzz(data, "ledger", "mine"))
        assert "mined" in mined
        summary = httpx.get(f"{server.url}/api/v1/ledger", headers=bob).json()
        assert summary["pending"] == 0 and f"height {summary['height']}" in mined
        assert "nothing to repair" in ok(qfzz(data, "ledger", "repair"))

        refused = qfzz(data, "datasets", "import", str(dataset), "--license", "not a license")
        assert refused.returncode == 1 and THROUGH in refused.stderr
        assert "license" in refused.stderr.lower()
    finally:
        server.stop()
    assert not (data / SERVER_FILE).exists()  # a stopped server takes its word back
    store = open_store(Settings(data_dir=data).resolved_database_url)
    try:
        assert store.listeners.get("bob") is not None
        assert [i.type.value for _, i in store.interactions.history("bob")] == ["like"]
    finally:
        store.close()


def test_a_server_that_does_not_answer_refuses_the_command_and_changes_nothing(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    qfzz(data, "cache", "stats")  # the data directory made, its operator token with it
    announce(data, f"http://127.0.0.1:{free_port()}")  # this live process, nothing listening
    try:
        refused = qfzz(data, "listener", "add", "eve")
    finally:
        withdraw(data)
    assert refused.returncode == 1
    assert "does not answer" in refused.stderr and f"kill {os.getpid()}" in refused.stderr
    store = open_store(Settings(data_dir=data).resolved_database_url)
    try:
        assert store.listeners.get("eve") is None
    finally:
        store.close()


def test_with_no_server_or_a_dead_ones_word_commands_run_directly(tmp_path):
    data = tmp_path / "data"
    direct = qfzz(data, "listener", "add", "ann")
    assert direct.returncode == 0 and THROUGH not in direct.stderr, direct.stderr
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (data / SERVER_FILE).write_text(
        json.dumps({"url": f"http://127.0.0.1:{free_port()}", "pid": gone.pid, "started": 1})
    )  # what a server killed with SIGKILL leaves
    after_crash = qfzz(data, "listener", "add", "bob")
    assert after_crash.returncode == 0 and THROUGH not in after_crash.stderr, after_crash.stderr
    assert "listener bob added" in after_crash.stdout
