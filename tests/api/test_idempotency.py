"""``Idempotency-Key`` on the POSTs that store: a retry gets the first answer, never a copy.

The defect: a client whose first POST was stored but whose answer it never got (a dropped
connection, a timeout) retries, and the interaction was stored — and learned — twice.
"""

from __future__ import annotations

import json
import socket
import threading
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from qfzz.api import create_api
from qfzz.app import build_station
from qfzz.store import open_store
from qfzz.testing import (
    SIX_GENRES,
    add_synthetic_tracks,
    serve_in_thread,
    synthetic_station,
    wait_for,
)

URL = "/api/v1/listeners/ann/interactions"
REPLAYED = "Idempotent-Replayed"


@pytest.fixture
def keyed_station(settings, clock, store_url):
    """A started station on SQLite or PostgreSQL with the 72 synthetic tracks."""
    with synthetic_station(settings, store=open_store(store_url), clock=clock) as st:
        yield st


def _client(station, user="ann", *, admin=False):
    token = station.register_listener(user, {"genres": ["jazz"]}, password="pw-1234").token
    if admin:
        station.accounts.make_admin(user)
    client = TestClient(create_api(station, manage_lifecycle=False))
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def _track(station, genre="rock"):
    return station.search_tracks(genre=genre, limit=1)[1][0].track_id


def _rows(station, user="ann"):
    return station.parts.store.interactions.for_listener(user)


def _error(response, status, code):
    assert response.status_code == status, response.text
    assert response.json()["error"] == code and response.json()["detail"]


def _raw_post(url: str, path: str, headers: dict[str, str], body: dict[str, object]) -> bytes:
    payload = json.dumps(body).encode()
    lines = [f"POST {path} HTTP/1.1", f"Host: {urlsplit(url).netloc}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}", "", ""]
    return "\r\n".join(lines).encode() + payload


def test_a_retry_whose_first_answer_was_lost_is_answered_not_stored_twice(keyed_station):
    station = keyed_station
    token = station.register_listener("ann", {"genres": ["jazz"]}, password="pw-1234").token
    track = _track(station)
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "retry-me-7"}
    body = {"track_id": track, "type": "like"}
    with serve_in_thread(station) as url:
        parts = urlsplit(url)
        # The first attempt reaches the server and is committed; its answer is never read.
        with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
            sock.sendall(_raw_post(url, URL, headers, body))
            assert wait_for(lambda: station.parts.store.interactions.count() == 1)
        retry = httpx.post(url + URL, json=body, headers=headers, timeout=10)

    assert retry.status_code == 201, retry.text
    assert station.parts.store.interactions.count() == 1  # stored once …
    profile = station.profile("ann")
    assert profile.applied == 1  # … and learned once
    assert profile.weights == station.rebuild_profile("ann", save=False).weights
    [stored] = _rows(station)
    assert retry.headers[REPLAYED] == "true"
    assert retry.json() == {
        "user_id": "ann",
        "track_id": track,
        "type": "like",
        "rating": None,
        "created_at": stored.created_at,
    }


def test_a_repeat_gets_the_same_status_and_body_and_changes_nothing(station):
    client = _client(station)
    body = {"track_id": _track(station), "type": "rate", "rating": 0.8}
    first = client.post(URL, json=body, headers={"Idempotency-Key": "k1"})
    assert first.status_code == 201 and REPLAYED not in first.headers
    learned = station.profile("ann").weights
    station.clock.advance(60)
    again = client.post(URL, json=dict(reversed(body.items())), headers={"Idempotency-Key": "k1"})
    assert again.status_code == 201 and again.headers[REPLAYED] == "true"
    assert again.json() == first.json()
    assert len(_rows(station)) == 1 and station.profile("ann").applied == 1
    assert station.profile("ann").weights == learned
    # the draft's structured-field form names the same key
    quoted = client.post(URL, json=body, headers={"Idempotency-Key": '"k1"'})
    assert quoted.json() == first.json() and quoted.headers[REPLAYED] == "true"
    # without a key, or with another key, the same body is a new interaction
    assert client.post(URL, json=body).status_code == 201
    assert client.post(URL, json=body, headers={"Idempotency-Key": "k2"}).status_code == 201
    assert len(_rows(station)) == 3


def test_the_same_key_for_another_request_is_refused_and_stores_nothing(station):
    client = _client(station)
    rock, jazz = _track(station, "rock"), _track(station, "jazz")
    assert (
        client.post(
            URL, json={"track_id": rock, "type": "like"}, headers={"Idempotency-Key": "k"}
        ).status_code
        == 201
    )
    for other in (
        {"track_id": jazz, "type": "like"},
        {"track_id": rock, "type": "skip"},
    ):
        _error(
            client.post(URL, json=other, headers={"Idempotency-Key": "k"}),
            422,
            "idempotency_key_reused",
        )
    # the path parameters are part of the request: an admin acting for two listeners
    admin = _client(station, "boss", admin=True)
    station.register_listener("bob", {}, password="pw-1234")
    body = {"track_id": rock, "type": "play"}
    assert admin.post(URL, json=body, headers={"Idempotency-Key": "a"}).status_code == 201
    _error(
        admin.post(
            "/api/v1/listeners/bob/interactions", json=body, headers={"Idempotency-Key": "a"}
        ),
        422,
        "idempotency_key_reused",
    )
    assert [i.type.value for i in _rows(station)] == ["like", "play"]
    assert _rows(station, "bob") == []


def test_keys_belong_to_their_principal(station):
    ann, bob = _client(station, "ann"), _client(station, "bob")
    track = _track(station)
    body = {"track_id": track, "type": "like"}
    assert ann.post(URL, json=body, headers={"Idempotency-Key": "shared"}).status_code == 201
    mine = bob.post(
        "/api/v1/listeners/bob/interactions", json=body, headers={"Idempotency-Key": "shared"}
    )
    assert mine.status_code == 201 and REPLAYED not in mine.headers
    assert mine.json()["user_id"] == "bob"
    assert len(_rows(station, "ann")) == len(_rows(station, "bob")) == 1


@pytest.mark.parametrize(
    "key",
    [b"", b" ", b"a" * 256, b"tab\there", b"sp ace", "caf\u00e9".encode("latin-1"), b'"a"b"'],
)
def test_malformed_keys_are_refused_and_store_nothing(station, key):
    client = _client(station)
    response = client.post(
        URL, json={"track_id": _track(station), "type": "like"}, headers={"Idempotency-Key": key}
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"] in {"invalid_idempotency_key", "invalid_request"}
    assert _rows(station) == []


def test_the_longest_key_is_accepted(station):
    client = _client(station)
    body = {"track_id": _track(station), "type": "like"}
    key = "~" + "k" * 254
    assert client.post(URL, json=body, headers={"Idempotency-Key": key}).status_code == 201
    assert client.post(URL, json=body, headers={"Idempotency-Key": key}).headers[REPLAYED]
    assert len(_rows(station)) == 1


def test_concurrent_requests_with_one_key_store_one_interaction(keyed_station):
    station = keyed_station
    token = station.register_listener("ann", {"genres": ["jazz"]}, password="pw-1234").token
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "burst"}
    body = {"track_id": _track(station), "type": "favorite"}
    answers: list[httpx.Response] = []
    start = threading.Barrier(8)
    with serve_in_thread(station) as url:

        def post() -> None:
            with httpx.Client(timeout=20) as http:
                start.wait()
                answers.append(http.post(url + URL, json=body, headers=headers))

        threads = [threading.Thread(target=post) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # a request refused as in flight is retried by its client: now it is answered
        retried = [httpx.post(url + URL, json=body, headers=headers, timeout=20) for _ in range(2)]

    assert sorted({a.status_code for a in answers}) in ([201], [201, 409])
    for refused in (a for a in answers if a.status_code == 409):
        assert refused.json()["error"] == "idempotency_key_in_flight"
    fresh = [a for a in answers if a.status_code == 201 and REPLAYED not in a.headers]
    assert len(fresh) == 1
    assert all(r.status_code == 201 and r.headers[REPLAYED] == "true" for r in retried)
    assert {json.dumps(a.json()) for a in answers + retried if a.status_code == 201} == {
        json.dumps(fresh[0].json())
    }
    assert station.parts.store.interactions.count() == 1
    assert station.profile("ann").applied == 1


def test_keys_are_forgotten_after_a_day_on_the_station_clock(station):
    client = _client(station)
    body = {"track_id": _track(station), "type": "like"}
    first = client.post(URL, json=body, headers={"Idempotency-Key": "daily"})
    station.clock.advance(24 * 3600 - 1)
    assert client.post(URL, json=body, headers={"Idempotency-Key": "daily"}).json() == first.json()
    station.clock.advance(1)
    later = client.post(URL, json=body, headers={"Idempotency-Key": "daily"})
    assert later.status_code == 201 and REPLAYED not in later.headers
    assert later.json()["created_at"] == first.json()["created_at"] + 24 * 3600
    assert len(_rows(station)) == 2
    # and the renewed key is remembered for the next day
    assert client.post(URL, json=body, headers={"Idempotency-Key": "daily"}).headers[REPLAYED]


def test_the_answer_survives_a_crash_between_the_commit_and_the_answer(settings, clock, store_url):
    first = build_station(settings, store=open_store(store_url), clock=clock)
    add_synthetic_tracks(first.parts.store, SIX_GENRES, now=clock())
    first.start()
    client = _client(first)
    track = _track(first)

    def crash(*_args):
        raise RuntimeError("the process died after the commit")

    # The commit happened; the first step after it fails, so the answer is never made.
    first.parts.catalog.view.add_plays = crash
    body = {"track_id": track, "type": "play"}
    with pytest.raises(RuntimeError, match="died after the commit"):
        client.post(URL, json=body, headers={"Idempotency-Key": "crash"})
    token = client.headers["Authorization"]
    first.close()

    second = build_station(settings, store=open_store(store_url), clock=clock)
    second.start()
    try:
        with TestClient(create_api(second, manage_lifecycle=False)) as retry:
            retry.headers["Authorization"] = token
            again = retry.post(URL, json=body, headers={"Idempotency-Key": "crash"})
        assert again.status_code == 201 and again.headers[REPLAYED] == "true"
        assert again.json()["track_id"] == track and again.json()["type"] == "play"
        assert second.parts.store.interactions.count() == 1
        assert second.profile("ann").applied == 1
    finally:
        second.close()


def test_a_race_only_the_database_saw_answers_the_first_and_reloads_the_profile(
    keyed_station, monkeypatch
):
    """Another process stored the key after this one looked it up: this one has already
    learned the interaction, so its batch item is dropped and the profile reloaded."""
    station = keyed_station
    client = _client(station)
    body = {"track_id": _track(station), "type": "dislike"}
    first = client.post(URL, json=body, headers={"Idempotency-Key": "race"})
    profile = station.profile("ann")
    monkeypatch.setattr(station.parts.store.idempotency, "find", lambda key, *, now: None)
    station.clock.advance(5)
    again = client.post(URL, json=body, headers={"Idempotency-Key": "race"})
    assert again.status_code == 201 and again.headers[REPLAYED] == "true"
    assert again.json() == first.json()
    assert station.parts.store.interactions.count() == 1
    assert profile.applied == 2  # the stale profile learned it a second time …
    reloaded = station.profile("ann")  # … and is replaced by one loaded from the store
    assert reloaded is not profile and reloaded.applied == 1
    # a different request under that key is still refused when only the database knows it
    other = {"track_id": body["track_id"], "type": "play"}
    _error(
        client.post(URL, json=other, headers={"Idempotency-Key": "race"}),
        422,
        "idempotency_key_reused",
    )
    assert station.parts.store.interactions.count() == 1


# -- datasets ----------------------------------------------------------------------------

DATASET = {
    "name": "folk",
    "license": "CC0",
    "tracks": [
        {"title": f"T{i}", "artist": f"A{i % 4}", "genre": "folk", "duration": 100}
        for i in range(12)
    ],
}


def test_a_repeated_dataset_import_imports_once(keyed_station, monkeypatch):
    station = keyed_station
    admin = _client(station, "boss", admin=True)
    tracks_before = station.parts.store.tracks.count()
    first = admin.post("/api/v1/datasets", json=DATASET, headers={"Idempotency-Key": "ds"})
    assert first.status_code == 201 and REPLAYED not in first.headers
    again = admin.post("/api/v1/datasets", json=DATASET, headers={"Idempotency-Key": "ds"})
    assert again.status_code == 201 and again.headers[REPLAYED] == "true"
    assert again.json() == first.json()
    assert station.parts.store.datasets.count() == 1
    assert station.parts.store.tracks.count() == tracks_before + 12
    _error(
        admin.post(
            "/api/v1/datasets", json={**DATASET, "name": "other"}, headers={"Idempotency-Key": "ds"}
        ),
        422,
        "idempotency_key_reused",
    )
    # another process committed the key after this one looked: the import is rolled back
    monkeypatch.setattr(station.parts.store.idempotency, "find", lambda key, *, now: None)
    raced = admin.post("/api/v1/datasets", json=DATASET, headers={"Idempotency-Key": "ds"})
    assert raced.status_code == 201 and raced.json() == first.json()
    assert station.parts.store.datasets.count() == 1
    assert station.parts.store.tracks.count() == tracks_before + 12


def test_a_refused_import_is_not_remembered(station):
    admin = _client(station, "boss", admin=True)
    bad = admin.post(
        "/api/v1/datasets",
        json={**DATASET, "license": "proprietary"},
        headers={"Idempotency-Key": "fix-and-retry"},
    )
    assert bad.status_code == 422 and station.parts.store.datasets.count() == 0
    good = admin.post(
        "/api/v1/datasets", json=DATASET, headers={"Idempotency-Key": "fix-and-retry"}
    )
    assert good.status_code == 201 and REPLAYED not in good.headers
    assert station.parts.store.datasets.count() == 1


def test_a_repeated_background_import_queues_one_job(keyed_station, monkeypatch):
    station = keyed_station
    admin = _client(station, "boss", admin=True)
    url = "/api/v1/datasets/jobs"
    first = admin.post(url, json=DATASET, headers={"Idempotency-Key": "job"})
    assert first.status_code == 202
    again = admin.post(url, json=DATASET, headers={"Idempotency-Key": "job"})
    assert again.status_code == 202 and again.headers[REPLAYED] == "true"
    assert again.json() == first.json()
    assert station.jobs.queue.counts()["ready"] == 1
    monkeypatch.setattr(station.parts.store.idempotency, "find", lambda key, *, now: None)
    raced = admin.post(url, json=DATASET, headers={"Idempotency-Key": "job"})
    assert raced.json()["job_id"] == first.json()["job_id"]
    assert station.jobs.queue.counts()["ready"] == 1
    monkeypatch.undo()
    assert station.jobs.run_pending() == 1
    # the job is done and gone from the queue; its key still answers with its id
    after = admin.post(url, json=DATASET, headers={"Idempotency-Key": "job"})
    assert after.json()["job_id"] == first.json()["job_id"]
    assert station.jobs.run_pending() == 0
    assert station.parts.store.datasets.count() == 1
    _error(
        admin.post(
            url, json={**DATASET, "license": "CC-BY-4.0"}, headers={"Idempotency-Key": "job"}
        ),
        422,
        "idempotency_key_reused",
    )


def test_the_key_is_documented_on_the_routes_that_store(station):
    client = _client(station)
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/listeners/{user_id}/interactions",
        "/api/v1/datasets",
        "/api/v1/datasets/jobs",
    ):
        names = [p["name"] for p in paths[path]["post"]["parameters"] if p["in"] == "header"]
        assert "Idempotency-Key" in names, path
