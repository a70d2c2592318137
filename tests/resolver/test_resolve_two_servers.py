"""Two real ``qfzz serve`` processes: B holds the audio, A imports a dataset describing it
(origin ``b``) and resolves it through its ``subsonic`` source pointed at B; the tracks then
stream from A — through py-sonic, a real Subsonic client — and ffmpeg decodes them."""

from __future__ import annotations

import json
import time

import httpx
import libsonic
import pytest

from qfzz.testing import ServeProcess, ffmpeg_decoded_seconds, write_tone_library

ADMIN = {"user_id": "admin", "password": "admin-pw-1"}


def _login(client: httpx.Client) -> dict[str, str]:
    answer = client.post("/api/v1/auth/login", json=ADMIN)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


@pytest.fixture
def servers(tmp_path):
    library = write_tone_library(tmp_path / "music", tracks=4, seconds=4.0)
    common = {"QFZZ_ADMIN_PASSWORD": ADMIN["password"], "QFZZ_ENABLE_BLOCKCHAIN": "false"}
    b = ServeProcess(tmp_path / "b", env={**common, "QFZZ_LIBRARY": str(library)}).start()
    started: list[ServeProcess] = [b]
    try:
        b.wait_healthy()
        with httpx.Client(base_url=b.url, timeout=30) as client:
            # the account A signs in to B with: a listener's Subsonic app password
            made = client.post(
                "/api/v1/listeners", json={"user_id": "fetcher", "password": "pw-1234"}
            )
            assert made.status_code == 201, made.text
            token = {"Authorization": f"Bearer {made.json()['token']}"}
            app_password = client.get("/api/v1/me/app-password", headers=token).json()
        source = {
            "name": "b",
            "kind": "subsonic",
            "url": b.url,
            "user": "fetcher",
            "password": app_password["app_password"],
        }
        a = ServeProcess(
            tmp_path / "a",
            env={
                **common,
                "QFZZ_RESOLVER_SOURCES": json.dumps([source]),
                "QFZZ_DOWNLOAD_SOURCES": "local,b",
            },
        ).start()
        started.append(a)
        a.wait_healthy()
        yield a, b, library
    finally:
        for server in started:
            server.stop()


def test_a_dataset_resolves_through_another_servers_subsonic_api(servers):
    a, _b, library = servers
    records = [
        {"title": f"Tone {n}", "artist": f"Artist {n % 3}", "duration": 4.0, "source": "B",
         "genre": ["jazz", "rock"][n % 2]}
        for n in range(4)
    ]  # fmt: skip
    records.append({"title": "Not Anywhere", "artist": "Nobody", "duration": 4.0, "source": "b"})
    with httpx.Client(base_url=a.url, timeout=30) as client:
        admin = _login(client)
        imported = client.post(
            "/api/v1/datasets",
            headers=admin,
            json={"name": "from b", "license": "CC-BY-4.0", "tracks": records},
        )
        assert imported.status_code == 201, imported.text
        before = client.get("/api/v1/tracks", params={"q": "Tone"}, headers=admin).json()
        assert [t["playable"] for t in before["tracks"]] == [False] * 4

        queued = client.post("/api/v1/resolve", headers=admin, json={"origin": "b"})
        assert queued.status_code == 202, queued.text
        job_id = queued.json()["job_id"]
        deadline = time.monotonic() + 120
        while True:
            job = client.get(f"/api/v1/jobs/{job_id}", headers=admin).json()
            if job["finished"]:
                break
            assert time.monotonic() < deadline, f"the resolve job did not finish: {job}"
            time.sleep(0.2)
        assert job["message"] == "4 of 5 resolved (4 from b)", job
        assert (job["done"], job["total"]) == (5, 5)

        after = client.get("/api/v1/tracks", params={"q": "Tone"}, headers=admin).json()
        assert sorted((t["title"], t["playable"]) for t in after["tracks"]) == [
            (f"Tone {n}", True) for n in range(4)
        ]
        # the dataset's metadata stays: the genre came from the dataset, not the file
        assert {t["genre"] for t in after["tracks"]} == {"jazz", "rock"}
        missing = client.get("/api/v1/tracks", params={"q": "Not Anywhere"}, headers=admin).json()
        assert [t["playable"] for t in missing["tracks"]] == [False]

        app_password = client.get("/api/v1/me/app-password", headers=admin).json()["app_password"]

    # a real Subsonic client streams the resolved tracks from A
    port = int(a.url.rsplit(":", 1)[1])
    sonic = libsonic.Connection("http://127.0.0.1", "admin", app_password, port=port)
    songs = sonic.search3("Tone")["searchResult3"]["song"]
    assert len(songs) == 4
    for song in songs:
        raw = sonic.stream(song["id"], tformat="raw").read()
        assert ffmpeg_decoded_seconds(raw) == pytest.approx(4.0, abs=0.2)
    # and the files A holds are B's library files, byte for byte
    held = sorted(p.read_bytes() for p in (a.data_dir / "resolved").iterdir())
    assert held == sorted(p.read_bytes() for p in library.iterdir())
