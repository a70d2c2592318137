"""One station, several real processes on PostgreSQL and Redis: two `qfzz serve` (as on
two hosts) keeping each other in step, and `qfzz serve --workers N` (uvicorn's supervisor
over N API processes on one port) — refused on the embedded stores."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import httpx
import pytest

from qfzz.serving import served_at
from qfzz.store import open_store
from qfzz.testing import (
    SIX_GENRES,
    ServeProcess,
    add_synthetic_tracks,
    wait_for,
    write_tone_library,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def shared_env(postgres_url, redis_url) -> dict[str, str]:
    """What every process of one station is given: its database, its cache, its key."""
    store = open_store(postgres_url)
    add_synthetic_tracks(store, SIX_GENRES)
    store.close()
    return {
        "QFZZ_DATABASE_URL": postgres_url,
        "QFZZ_CACHE_URL": redis_url,
        "QFZZ_CACHE_PREFIX": f"qfzz-test-{uuid.uuid4().hex[:8]}:",
        "QFZZ_SECRET_KEY": "one station, several processes",
    }


def _received(url: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=5).text
    found = re.search(r"^qfzz_relay_received_total (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else -1.0


def _playlist(url: str, auth: dict[str, str]) -> list[int]:
    answer = httpx.get(f"{url}/api/v1/listeners/ann/playlist?size=10", headers=auth, timeout=30)
    assert answer.status_code == 200, answer.text
    return [t["track_id"] for t in answer.json()["tracks"]]


def test_feedback_on_one_server_changes_the_next_playlist_of_another(tmp_path, shared_env):
    a = ServeProcess(tmp_path / "a" / "data", env=shared_env).start()
    b = ServeProcess(tmp_path / "b" / "data", env=shared_env).start()
    try:
        a.wait_healthy()
        b.wait_healthy()
        created = httpx.post(
            f"{a.url}/api/v1/listeners",
            json={"user_id": "ann", "password": "pw-1234", "preferences": {"genres": ["jazz"]}},
        )
        assert created.status_code == 201, created.text
        auth = {"Authorization": f"Bearer {created.json()['token']}"}  # valid on either
        before = _playlist(b.url, auth)
        heard = _received(b.url)
        assert heard >= 0
        for track_id in before[:3]:
            ack = httpx.post(
                f"{a.url}/api/v1/listeners/ann/interactions",
                json={"track_id": track_id, "type": "dislike"},
                headers=auth,
            )
            assert ack.status_code == 201, ack.text
        assert wait_for(lambda: _received(b.url) >= heard + 3)
        after = _playlist(b.url, auth)
        assert after != before and not set(before[:3]) & set(after[:5])
        a.kill()  # the other server goes on alone
        assert _playlist(b.url, auth) == after
    finally:
        a.stop()
        b.stop()


def test_several_processes_on_the_embedded_stores_are_refused(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("QFZZ_")}
    command = ["serve", "--workers", "2", "--no-demo", "--data-dir", str(tmp_path / "data")]
    done = subprocess.run(
        [sys.executable, "-m", "qfzz", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "QFZZ_DATABASE_URL" in done.stderr and "QFZZ_CACHE_URL" in done.stderr
    assert not (tmp_path / "data" / "qfzz.db").exists()  # refused before anything was made


def _children(pid: int) -> set[int]:
    """The API processes uvicorn's supervisor ``pid`` runs (spawned: ``spawn_main``)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == pid and b"spawn_main" in command:  # field 4: the parent's pid
            found.add(int(stat.parent.name))
    return found


def _listening_sockets(port: int) -> set[int]:
    """The inodes of the sockets listening on ``port`` (``/proc/net/tcp``)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
            found.add(int(fields[9]))
    return found


def _sockets_of(pid: int) -> set[int]:
    """The inodes of the sockets process ``pid`` holds open."""
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                found.add(int(target[8:-1]))
    return found


def _own_listeners(server: ServeProcess) -> dict[int, set[int]]:
    """Each API process's listening sockets on the server's port."""
    assert server.process is not None
    listening = _listening_sockets(server.port)
    return {pid: _sockets_of(pid) & listening for pid in _children(server.process.pid)}


def test_workers_serve_one_port_and_a_killed_one_is_replaced(tmp_path, shared_env):
    server = ServeProcess(
        tmp_path / "data", env=shared_env, args=("--no-demo", "--workers", "2")
    ).start()
    try:
        server.wait_healthy()
        assert server.process is not None
        assert wait_for(lambda: len(_children(server.process.pid)) >= 2)
        # each process accepts on a socket of its own (SO_REUSEPORT): the kernel spreads
        # the connections, where one shared socket lets the busiest process take most
        assert wait_for(lambda: all(len(s) == 1 for s in _own_listeners(server).values()))
        listeners = _own_listeners(server)
        assert len(set().union(*listeners.values())) == 2
        workers = set(listeners)
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        # uvicorn's supervisor starts another in its place, listening on its own socket
        assert wait_for(lambda: len(_children(server.process.pid) - workers) >= 1)
        assert wait_for(lambda: all(len(s) == 1 for s in _own_listeners(server).values()))
        assert len(set().union(*_own_listeners(server).values())) == 2
        assert all(
            httpx.get(f"{server.url}/api/v1/health", timeout=10).status_code == 200
            for _ in range(20)
        )
        # a second station on the same port is refused before it does anything, not let
        # in to share the port
        other = ["--data-dir", str(tmp_path / "other"), "--port", str(server.port)]
        second = subprocess.run(
            [sys.executable, "-m", "qfzz", "serve", "--no-demo", "--workers", "2", *other],
            env={**os.environ, **shared_env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode != 0
        assert f"cannot listen on 127.0.0.1:{server.port}" in second.stdout + second.stderr
        assert not (tmp_path / "other").exists()
    finally:
        server.stop()


def test_a_job_queued_on_an_api_process_is_done_by_qfzz_worker(tmp_path, shared_env):
    env = {**shared_env, "QFZZ_ADMIN_PASSWORD": "admin-pw-1234"}
    server = ServeProcess(tmp_path / "data", env=env, args=("--no-demo", "--workers", "2"))
    server.start()
    worker = None
    try:
        server.wait_healthy()
        login = httpx.post(
            f"{server.url}/api/v1/auth/login",
            json={"user_id": "admin", "password": "admin-pw-1234"},
        )
        assert login.status_code == 200, login.text
        auth = {"Authorization": f"Bearer {login.json()['token']}"}
        dataset = {
            "name": "folk",
            "license": "CC0",
            "tracks": [
                {"title": f"Reel {i}", "artist": "Fiddler", "genre": "folk"} for i in range(5)
            ],
        }
        queued = httpx.post(f"{server.url}/api/v1/datasets/jobs", json=dataset, headers=auth)
        assert queued.status_code == 202, queued.text
        job_url = f"{server.url}/api/v1/jobs/{queued.json()['job_id']}"
        # the API processes run no jobs: only a worker does
        worker = subprocess.Popen(
            [sys.executable, "-m", "qfzz", "worker", "--data-dir", str(tmp_path / "data")],
            env={**os.environ, "QFZZ_LOG_LEVEL": "WARNING", **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert wait_for(lambda: httpx.get(job_url, headers=auth).json().get("finished"))
        found = httpx.get(f"{server.url}/api/v1/tracks?q=reel", headers=auth).json()
        assert found["total"] == 5
        # the API processes heard of the new tracks from the worker
        assert wait_for(lambda: _received(server.url) >= 1)
        # the CLI finds the supervisor's word in the data directory, and its scan is a job
        # the worker does, which every API process then serves
        served = served_at(tmp_path / "data")
        assert served is not None and served.pid == server.process.pid  # type: ignore[union-attr]
        library = write_tone_library(tmp_path / "music", tracks=2)
        before = httpx.get(f"{server.url}/api/v1/health").json()["tracks"]
        scanned = subprocess.run(
            [
                sys.executable,
                "-m",
                "qfzz",
                "scan",
                str(library),
                "--data-dir",
                str(tmp_path / "data"),
            ],
            env={**os.environ, "QFZZ_LOG_LEVEL": "WARNING", **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert scanned.returncode == 0, scanned.stderr
        assert "through the station" in scanned.stderr and "2 added" in scanned.stdout
        assert wait_for(
            lambda: all(
                httpx.get(f"{server.url}/api/v1/health").json()["tracks"] == before + 2
                for _ in range(10)
            )
        )
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0  # a clean stop
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
        server.stop()


def _sign_up(url: str, user: str) -> dict[str, str]:
    created = httpx.post(
        f"{url}/api/v1/listeners", json={"user_id": user, "password": "pw-1234", "preferences": {}}
    )
    assert created.status_code == 201, created.text
    return {"Authorization": f"Bearer {created.json()['token']}"}


def test_a_process_killed_under_load_loses_nothing_acknowledged_and_fails_no_other_request(
    tmp_path, shared_env, postgres_url
):
    # eight sign-ups at once: past the default per-second budget of password checks
    env = {**shared_env, "QFZZ_PASSWORD_CHECKS_PER_SECOND": "100"}
    a = ServeProcess(tmp_path / "a" / "data", env=env).start()
    b = ServeProcess(tmp_path / "b" / "data", env=env).start()
    try:
        a.wait_healthy()
        b.wait_healthy()
        users = {"a": [f"a{n}" for n in range(4)], "b": [f"b{n}" for n in range(4)]}
        auth = {user: _sign_up(a.url, user) for group in users.values() for user in group}
        tracks = [
            t["track_id"]
            for t in httpx.get(f"{a.url}/api/v1/tracks?limit=500", headers=auth["a0"]).json()[
                "tracks"
            ]
        ]
        acked: dict[str, list[tuple[str, int]]] = {"a": [], "b": []}
        refused_by_b: list[str] = []
        stop = threading.Event()

        def load(name: str, url: str) -> None:
            with httpx.Client(base_url=url, timeout=10) as client:
                # every (listener, track) pair is sent once: the store must hold each ack'd
                for track_id in tracks:
                    for user in users[name]:
                        if stop.is_set():
                            return
                        try:
                            answer = client.post(
                                f"/api/v1/listeners/{user}/interactions",
                                json={"track_id": track_id, "type": "play"},
                                headers=auth[user],
                            )
                        except httpx.HTTPError as exc:
                            if name == "b":
                                refused_by_b.append(repr(exc))
                            return  # a was killed: its connection is gone
                        if answer.status_code == 201:
                            acked[name].append((user, track_id))
                        elif name == "b":
                            refused_by_b.append(f"{answer.status_code} {answer.text}")

        threads = [
            threading.Thread(target=load, args=(name, server.url))
            for name, server in (("a", a), ("b", b))
        ]
        for thread in threads:
            thread.start()
        assert wait_for(lambda: len(acked["a"]) >= 40 and len(acked["b"]) >= 40)
        a.kill()  # SIGKILL mid-load: no shutdown hook runs
        after_kill = len(acked["b"])
        assert wait_for(lambda: len(acked["b"]) >= after_kill + 40)
        stop.set()
        for thread in threads:
            thread.join(30)
        assert refused_by_b == []
        store = open_store(postgres_url)
        try:
            for name in ("a", "b"):
                stored = {
                    (i.user_id, i.track_id)
                    for user in users[name]
                    for i in store.interactions.for_listener(user)
                }
                assert set(acked[name]) <= stored, name
        finally:
            store.close()
    finally:
        a.stop()
        b.stop()


def test_a_job_worker_killed_mid_scan_leaves_the_job_to_another_which_finishes_it(
    tmp_path, shared_env, postgres_url
):
    from qfzz.testing import write_tone_library

    # more files than a scan stores at once (its batches of 200): the worker is killed
    # after its first batch is stored and before it tells anyone of it
    files = 230
    library = write_tone_library(tmp_path / "music", tracks=files, seconds=1.0)
    env = {
        **shared_env,
        "QFZZ_ADMIN_PASSWORD": "admin-pw-1234",
        "QFZZ_JOB_HANDOUT_SECONDS": "4",  # a dead worker's job waits this long
        "QFZZ_ANALYSE_AUDIO": "true",  # tempo and energy per file: a scan that takes a while
    }
    server = ServeProcess(tmp_path / "data", env=env, args=("--no-demo", "--workers", "2"))
    server.start()
    workers: list[subprocess.Popen[bytes]] = []

    def worker() -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-m", "qfzz", "worker", "--data-dir", str(tmp_path / "data")],
            env={**os.environ, "QFZZ_LOG_LEVEL": "WARNING", **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        workers.append(process)
        return process

    try:
        server.wait_healthy()
        login = httpx.post(
            f"{server.url}/api/v1/auth/login",
            json={"user_id": "admin", "password": "admin-pw-1234"},
        )
        auth = {"Authorization": f"Bearer {login.json()['token']}"}
        queued = httpx.post(f"{server.url}/api/v1/scan", json={"path": str(library)}, headers=auth)
        assert queued.status_code == 202, queued.text
        job_url = f"{server.url}/api/v1/jobs/{queued.json()['job_id']}"

        def progress() -> dict:
            return httpx.get(job_url, headers=auth).json()

        first = worker()
        assert wait_for(
            lambda: 205 <= progress().get("done", 0) < files and not progress()["finished"],
            timeout=120,
        )
        first.send_signal(signal.SIGKILL)  # mid-scan
        first.wait(10)
        worker()  # another takes the job once its hand-out runs out, and finishes it
        assert wait_for(lambda: progress().get("finished"), timeout=120)
        found = httpx.get(f"{server.url}/api/v1/tracks?q=tone&limit=10", headers=auth).json()
        assert found["total"] == files

        def indexed() -> list[float]:  # each API process's index, asked a few times
            texts = [httpx.get(f"{server.url}/metrics").text for _ in range(6)]
            return [float(re.search(r"^qfzz_tracks (\S+)$", t, re.M).group(1)) for t in texts]

        # the tracks the killed worker stored and never told of reach every API process
        assert wait_for(lambda: min(indexed()) == len(SIX_GENRES) + files)
        store = open_store(postgres_url)
        try:
            every = store.tracks.get_many(list(range(1, 1000))).values()
            paths = [t.path for t in every if t.path and t.path.startswith(str(library))]
        finally:
            store.close()
        assert len(paths) == len(set(paths)) == files  # every file once
    finally:
        for process in workers:
            if process.poll() is None:
                process.kill()
            process.wait(10)
        server.stop()
