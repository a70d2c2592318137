"""``GET /api/v1/tracks?q=`` and Subsonic ``search3``/``search2`` over the full-text index:
hostile queries answer results or a JSON 4xx, never a 500; counts stop at the cap."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient

from qfzz.api import create_api
from qfzz.models import SEARCH_COUNT_CAP
from qfzz.testing import SyntheticTrack, add_synthetic_tracks

HOSTILE = [
    '"',
    '""',
    "*",
    "(",
    "NEAR(metal song)",
    "-metal",
    "metal OR jazz",
    "metal*",
    "title:metal",
    "%",
    "_",
    "\\",
    "'; DROP TABLE tracks; --",
    "\u0301",
    " ".join(["metal"] * 16),
]


@pytest.fixture
def api(station):
    with TestClient(create_api(station, manage_lifecycle=False)) as client:
        body = {"user_id": "ann", "password": "pw-1234", "preferences": {"genres": ["jazz"]}}
        registered = client.post("/api/v1/listeners", json=body)
        assert registered.status_code == 201, registered.text
        client.headers["Authorization"] = f"Bearer {registered.json()['token']}"
        yield client, station.accounts.app_password("ann")


def _sonic(client, password, method, **params):
    salt = "s4lt"
    digest = hashlib.md5((password + salt).encode()).hexdigest()
    auth = {"u": "ann", "t": digest, "s": salt, "c": "tests", "v": "1.16.1", "f": "json"}
    answer = client.get(f"/rest/{method}", params={**auth, **params})
    assert answer.status_code == 200, answer.text
    return answer.json()["subsonic-response"]


def _tracks(client, **params):
    return client.get("/api/v1/tracks", params=params)


def test_folding_and_words_through_the_route(api, station):
    client, password = api
    add_synthetic_tracks(station.parts.store, [SyntheticTrack("Déjà Vu", "Beyoncé", "pop")])
    found = _tracks(client, q="BEYONCE deja").json()
    assert [t["title"] for t in found["tracks"]] == ["Déjà Vu"]
    assert (found["total"], found["total_capped"]) == (1, False)
    songs = _sonic(client, password, "search3", query="yonc")["searchResult3"]["song"]
    assert [s["title"] for s in songs] == ["Déjà Vu"]


@pytest.mark.parametrize("q", HOSTILE)
def test_hostile_queries_answer_results(api, q):
    client, password = api
    answer = _tracks(client, q=q)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["total"] == len(body["tracks"]) or body["total"] > len(body["tracks"])
    for method, key in (("search3", "searchResult3"), ("search2", "searchResult2")):
        result = _sonic(client, password, method, query=q)[key]
        assert {"song", "album", "artist"} <= set(result)


def test_search3_finds_artists_and_albums_folded_and_paged(api, station):
    client, password = api
    add_synthetic_tracks(
        station.parts.store,
        [
            SyntheticTrack("Halo", "Beyoncé", "pop", album="Sasha Fierce"),
            SyntheticTrack("Crazy", "Beyoncé", "pop", album="Dangerously in Love"),
            SyntheticTrack("Other", "Someone Else", "pop", album="Love Songs"),
        ],
    )
    found = _sonic(client, password, "search3", query="BEYONCE")["searchResult3"]
    assert [a["name"] for a in found["artist"]] == ["Beyoncé"]
    assert {a["name"] for a in found["album"]} == {"Sasha Fierce", "Dangerously in Love"}
    both = _sonic(client, password, "search3", query="love beyon")["searchResult3"]
    assert [a["name"] for a in both["album"]] == ["Dangerously in Love"]
    assert both["artist"] == []  # "love" is no artist's name
    pages = [
        _sonic(client, password, "search3", query="love", albumCount=1, albumOffset=o)[
            "searchResult3"
        ]["album"]
        for o in range(3)
    ]
    assert [len(p) for p in pages] == [1, 1, 0]
    assert {p[0]["name"] for p in pages[:2]} == {"Dangerously in Love", "Love Songs"}
    folders = _sonic(client, password, "search2", query="fierce", artistCount=0)["searchResult2"]
    assert [a["title"] for a in folders["album"]] == ["Sasha Fierce"] and not folders["artist"]


def test_queries_beyond_the_bounds_are_json_4xx(api):
    client, password = api
    for q in ("x" * 201, " ".join(f"w{i}" for i in range(17))):
        answer = _tracks(client, q=q)
        assert 400 <= answer.status_code < 500, answer.text
        assert set(answer.json()) == {"error", "detail"}
    refused = _sonic(client, password, "search3", query="x" * 5000)
    assert refused["status"] == "failed" and refused["error"]["message"]
    # refused by the artist and album searches too, when no song is asked for
    words = " ".join(f"w{i}" for i in range(17))
    refused = _sonic(client, password, "search3", query=words, songCount=0)
    assert refused["status"] == "failed" and refused["error"]["message"]


def test_total_is_capped_and_pages_go_on(api, station):
    client, _password = api
    many = [SyntheticTrack(f"Loop {i}", "Looper", "ambient") for i in range(SEARCH_COUNT_CAP + 3)]
    add_synthetic_tracks(station.parts.store, many, prefix="/loops")
    first = _tracks(client, q="loop", limit=500).json()
    assert (first["total"], first["total_capped"]) == (SEARCH_COUNT_CAP, True)
    last = _tracks(client, q="loop", limit=500, offset=SEARCH_COUNT_CAP).json()
    assert [t["title"] for t in last["tracks"]] == [f"Loop {i}" for i in range(1000, 1003)]
