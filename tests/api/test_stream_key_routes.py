"""Stream keys over HTTP: made, shown once, inspected, revoked; refused with a reason;
and the .m3u/.pls files that carry a credential on to players.

Streams themselves are endless, so these tests stop at the answers that end: errors and
playlist files. Players decoding keyed streams are in tests/broadcast.
"""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import delete

from qfzz.store._schema import listeners, playlists, profile_weights, stream_keys, tokens


@pytest.fixture
def ann(station) -> dict[str, str]:
    station.register_listener("ann", {}, password="pw-1234")
    return {"Authorization": f"Bearer {station.accounts.issue_token('ann')}"}


def _new_key(client, headers, user_id: str = "ann") -> dict:
    answer = client.post(f"/api/v1/listeners/{user_id}/stream-key", headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


def _refused(answer, status: int, words: str) -> None:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"error", "detail"} and words in body["detail"], body


def test_a_key_is_shown_once_with_ready_made_urls(client, ann, clock):
    made = _new_key(client, ann)
    key = made["key"]
    assert made["user_id"] == "ann" and made["created_at"] == clock()
    urls = made["urls"]
    assert urls == {
        "shared_stream": f"http://testserver/stream/main?key={key}",
        "personal_stream": f"http://testserver/api/v1/listeners/ann/stream?key={key}",
        "shared_m3u": f"http://testserver/stream/main.m3u?key={key}",
        "shared_pls": f"http://testserver/stream/main.pls?key={key}",
        "personal_m3u": f"http://testserver/api/v1/listeners/ann/stream.m3u?key={key}",
        "personal_pls": f"http://testserver/api/v1/listeners/ann/stream.pls?key={key}",
    }
    info = client.get("/api/v1/listeners/ann/stream-key", headers=ann)
    assert info.json() == {"user_id": "ann", "exists": True, "created_at": clock()}
    assert key not in info.text and hashlib.sha256(key.encode()).hexdigest() not in info.text


def test_a_key_is_revoked_by_delete_or_by_a_new_one(client, ann):
    first = _new_key(client, ann)["key"]
    second = _new_key(client, ann)["key"]
    _refused(client.get(f"/stream/main.m3u?key={first}"), 401, "unknown or revoked stream key")
    assert client.get(f"/stream/main.m3u?key={second}").status_code == 200
    assert client.delete("/api/v1/listeners/ann/stream-key", headers=ann).status_code == 204
    _refused(client.get(f"/stream/main?key={second}"), 401, "unknown or revoked stream key")
    _refused(client.get(f"/stream/main.pls?key={second}"), 401, "unknown or revoked stream key")
    info = client.get("/api/v1/listeners/ann/stream-key", headers=ann).json()
    assert info == {"user_id": "ann", "exists": False, "created_at": None}
    assert client.delete("/api/v1/listeners/ann/stream-key", headers=ann).status_code == 204


def test_only_the_listener_manages_their_key(client, station, ann):
    station.register_listener("bo", {}, password="pw-1234")
    for method in ("post", "get", "delete"):
        answer = client.request(method, "/api/v1/listeners/bo/stream-key", headers=ann)
        _refused(answer, 403, "ann may not act for bo")
        _refused(client.request(method, "/api/v1/listeners/ann/stream-key"), 401, "sign in")
    assert station.accounts.stream_key_info("bo") is None


def test_a_key_is_not_a_bearer_token(client, ann):
    key = _new_key(client, ann)["key"]
    answer = client.get(
        "/api/v1/listeners/ann/stream-key", headers={"Authorization": f"Bearer {key}"}
    )
    _refused(answer, 401, "unknown or expired token")


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/stream/main?key=sk_short", 401, "malformed stream key"),
        ("/stream/main?key=" + "sk_" + "a" * 42 + "%25", 401, "malformed stream key"),
        ("/stream/main?key=" + "sk_" + "b" * 43, 401, "unknown or revoked stream key"),
        ("/stream/main?key=" + "k" * 129, 422, "at most 128 characters"),
        ("/api/v1/listeners/ann/stream?key=sk_short", 401, "malformed stream key"),
        ("/api/v1/listeners/ann/stream.m3u?key=" + "sk_" + "b" * 43, 401, "unknown or revoked"),
        ("/stream/main", 401, "?key="),
    ],
)
def test_bad_keys_are_refused_with_a_reason(client, station, ann, path, status, words):
    _new_key(client, ann)
    _refused(client.get(path), status, words)


def test_an_unknown_mount_names_the_mounts(client, ann):
    key = _new_key(client, ann)["key"]
    for path in ("/stream/nope", "/stream/nope.m3u", "/stream/nope.pls"):
        answer = client.get(f"{path}?key={key}")
        _refused(answer, 404, "no mount 'nope'; mounts: main")
        assert answer.json()["error"] == "unknown_mount"


def test_the_key_of_a_listener_who_was_deleted_is_refused(client, station, ann):
    key = _new_key(client, ann)["key"]
    with station.parts.store.db.write() as conn:
        for table in (tokens, profile_weights, playlists):
            conn.execute(delete(table).where(table.c.user_id == "ann"))
        conn.execute(delete(listeners).where(listeners.c.user_id == "ann"))
        assert conn.execute(stream_keys.select()).all() == []
    _refused(client.get(f"/stream/main?key={key}"), 401, "unknown or revoked stream key")


def test_another_listeners_key_does_not_open_your_personal_stream(client, station, ann):
    station.register_listener("bo", {}, password="pw-1234")
    bo_key = station.accounts.create_stream_key("bo")
    _refused(client.get(f"/api/v1/listeners/ann/stream?key={bo_key}"), 403, "bo may not act")
    _refused(client.get(f"/api/v1/listeners/ann/stream.m3u?key={bo_key}"), 403, "bo may not")


# -- playlist files ---------------------------------------------------------------------


def _entry(text: str, kind: str) -> str:
    lines = text.splitlines()
    if kind == "m3u":
        assert lines[0] == "#EXTM3U" and lines[1].startswith("#EXTINF:-1,")
        return lines[2]
    assert lines[0] == "[playlist]" and "NumberOfEntries=1" in lines and "Length1=-1" in lines
    return next(line for line in lines if line.startswith("File1=")).removeprefix("File1=")


@pytest.mark.parametrize(
    ("kind", "media_type"), [("m3u", "audio/x-mpegurl"), ("pls", "audio/x-scpls")]
)
def test_playlist_files_carry_the_key_and_the_choices(client, ann, kind, media_type):
    key = _new_key(client, ann)["key"]
    for path, stream in (
        (f"/stream/main.{kind}", "/stream/main"),
        (f"/api/v1/listeners/ann/stream.{kind}", "/api/v1/listeners/ann/stream"),
    ):
        answer = client.get(f"{path}?key={key}&format=opus&bitrate=96")
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith(media_type)
        assert answer.headers["cache-control"] == "no-store"
        url = urlsplit(_entry(answer.text, kind))
        assert (url.scheme, url.netloc, url.path) == ("http", "testserver", stream)
        assert dict(parse_qsl(url.query)) == {"format": "opus", "bitrate": "96", "key": key}


def test_a_playlist_for_a_bearer_carries_a_signed_stream_token(client, station, ann):
    answer = client.get("/stream/main.m3u", headers=ann)
    query = dict(parse_qsl(urlsplit(_entry(answer.text, "m3u")).query))
    assert set(query) == {"token"}
    assert station.accounts.verify_stream_token(query["token"]).user_id == "ann"


def test_a_playlist_for_subsonic_credentials_carries_them(client, station, ann):
    password = station.accounts.app_password("ann")
    token = hashlib.md5((password + "salt1").encode()).hexdigest()
    answer = client.get(f"/stream/main.pls?u=ann&t={token}&s=salt1&c=app&v=1.16.1")
    assert answer.status_code == 200, answer.text
    query = dict(parse_qsl(urlsplit(_entry(answer.text, "pls")).query))
    assert query == {"u": "ann", "t": token, "s": "salt1"}


def test_bad_playlist_choices_are_refused(client, ann):
    key = _new_key(client, ann)["key"]
    _refused(client.get(f"/stream/main.m3u?key={key}&bitrate=100"), 422, "bitrate must be")
    assert client.get(f"/stream/main.m3u?key={key}&format=wav").status_code == 422


# -- Subsonic credentials on stream routes ----------------------------------------------


def test_wrong_subsonic_credentials_on_a_stream_route(client, station, ann):
    _refused(client.get("/stream/main?u=ann&p=wrong"), 401, "wrong username or password")
    _refused(client.get("/stream/main?u=ann&t=abc"), 422, "p, or t and s")
    _refused(client.get("/stream/main?apiKey=nope"), 401, "unknown or expired token")
    limit = station.settings.login_attempts_per_minute
    for _ in range(limit):
        client.get("/stream/main.m3u?u=ann&p=wrong")
    password = station.accounts.app_password("ann")
    # past the limit even the right password waits, as on the Subsonic API
    assert client.get(f"/stream/main.m3u?u=ann&p={password}").status_code == 429


def test_subsonic_takes_a_key_only_for_audio(client, ann):
    key = _new_key(client, ann)["key"]

    def code(method: str, **params: str) -> int | None:
        answer = client.get(
            f"/rest/{method}", params={"f": "json", "v": "1.16.1", "c": "t", **params}
        )
        error = answer.json()["subsonic-response"].get("error")
        return None if error is None else error["code"]

    assert code("stream", id="tr-1", key="sk_" + "c" * 43) == 40  # unknown key
    assert code("stream", id="tr-1", key=key, u="ann") == 43  # two credentials
    assert code("getGenres", key=key) == 10  # not an audio method: u is missing
    assert code("getGenres", u="ann", p="x") == 40
    # the key is accepted: the synthetic track has no file, which is the next error
    assert code("stream", id="tr-1", key=key) == 70
    assert code("download", id="tr-1", key=key) == 70


def test_an_admin_asking_for_a_missing_listeners_playlist_is_told_so(client, station):
    station.register_listener("root", {}, password="pw-1234")
    station.accounts.make_admin("root")
    admin = {"Authorization": f"Bearer {station.accounts.issue_token('root')}"}
    _refused(client.get("/api/v1/listeners/zed/stream.m3u", headers=admin), 404, "no listener")
    _refused(client.post("/api/v1/listeners/zed/stream-key", headers=admin), 404, "no listener")
