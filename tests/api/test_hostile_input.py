"""Hostile and clumsy input: bounded before parsing, answered with JSON 4xx, nothing stored.

Each test here reproduced a defect found by probing QFZZ as an attacker would (issue 11):
a 2 MB sign-up body that cost 1.5 GB, integers past 2**63 and NUL characters that ended in
plain-text 500s, a thousand nested brackets, a bad cache namespace, 405s without Allow.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from qfzz.api import create_api
from qfzz.app import build_station
from qfzz.settings import Settings
from qfzz.station import QFZZStation
from qfzz.testing import synthetic_station


@pytest.fixture
def any_store_station(store_url, tmp_path, clock) -> Iterator[QFZZStation]:
    """A started station on SQLite and on PostgreSQL (where NUL in text is refused)."""
    settings = Settings(data_dir=tmp_path / "data", demo_library=False, database_url=store_url)
    with synthetic_station(settings, clock=clock) as station:
        yield station


def admin(station: QFZZStation, user: str = "root") -> dict[str, str]:
    token = station.register_listener(user, {}, password="pw-12345").token
    station.accounts.make_admin(user)
    return {"Authorization": f"Bearer {token}"}


def json_error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error", "detail"} and body["error"] and body["detail"]
    return body


def sign_up_body(genres: list[object]) -> bytes:
    return json.dumps(
        {"user_id": "mallory", "password": "pw-12345", "preferences": {"genres": genres}}
    ).encode()


# -- 1. one request must not cost memory out of proportion ------------------------------


def test_a_two_megabyte_sign_up_is_refused_before_it_is_parsed(client, station):
    body = sign_up_body([1] * 1_000_000)  # the probe: 2 MB of wrong-typed genres
    assert len(body) > 2_000_000
    answer = json_error(
        client.post(
            "/api/v1/listeners", content=body, headers={"content-type": "application/json"}
        ),
        413,
    )
    assert answer["error"] == "payload_too_large"
    assert station.parts.store.listeners.get("mallory") is None


def test_a_body_sent_without_a_length_is_counted_as_it_arrives(client, station):
    def chunks() -> Iterator[bytes]:
        body = sign_up_body(["x"] * 100_000)
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    answer = client.post(
        "/api/v1/listeners", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in answer.request.headers
    json_error(answer, 413)
    assert station.parts.store.listeners.get("mallory") is None


def test_a_small_body_of_many_bad_items_gets_one_short_answer(client, station):
    body = sign_up_body([1] * 5000)  # under the byte limit, far over the list limit
    answer = json_error(
        client.post(
            "/api/v1/listeners", content=body, headers={"content-type": "application/json"}
        ),
        422,
    )
    assert len(answer["detail"]) < 500, answer["detail"]
    assert "genres" in answer["detail"]
    assert station.parts.store.listeners.get("mallory") is None


def test_a_422_names_at_most_ten_problems(client):
    fields = {f"f{n}": n for n in range(40)}  # forty unknown fields: forty problems
    answer = json_error(
        client.post("/api/v1/listeners", json={"user_id": "x", "password": "pw-1", **fields}),
        422,
    )
    assert answer["detail"].count(";") == 10 and answer["detail"].endswith("and 30 more")


def test_rate_limits_come_before_the_body_is_read(tmp_path, clock):
    settings = Settings(
        data_dir=tmp_path / "d",
        demo_library=False,
        registrations_per_hour=2,
        login_attempts_per_minute=2,
    )
    station = build_station(settings, clock=clock)
    station.start()
    client = TestClient(create_api(station, manage_lifecycle=False))
    for n in range(station.settings.registrations_per_hour):
        client.post("/api/v1/listeners", json={"user_id": f"u{n}", "password": "pw-1234"})
    # A body the parser would reject with a 422 is not even read now: 429. (A body over
    # the byte limit is refused by its declared length first: 413, unread as well.)
    invalid = sign_up_body([1] * 5000)
    refused = client.post(
        "/api/v1/listeners", content=invalid, headers={"content-type": "application/json"}
    )
    assert json_error(refused, 429)["error"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) > 0
    for _ in range(station.settings.login_attempts_per_minute):
        client.post("/api/v1/auth/login", json={"user_id": "u0", "password": "wrong-pw"})
    refused = client.post("/api/v1/auth/login", content=b"{not json")
    assert json_error(refused, 429)["error"] == "rate_limited"
    station.close()


def test_an_anonymous_dataset_upload_is_refused_unread(client, station):
    records = [{"title": f"t{n}", "artist": "a"} for n in range(100_000)]
    body = json.dumps({"name": "big", "license": "CC0-1.0", "tracks": records}).encode()
    assert len(body) > station.settings.max_body_kb * 1024  # only an admin gets that far
    answer = client.post(
        "/api/v1/datasets", content=body, headers={"content-type": "application/json"}
    )
    json_error(answer, 401)
    assert station.parts.store.datasets.count() == 0


def test_an_oversized_body_on_a_route_that_reads_none_is_a_json_413(client):
    answer = client.request(
        "GET", "/api/v1/health", content=b"x" * (65 * 1024), headers={"content-type": "text/plain"}
    )
    json_error(answer, 413)


# -- 8. no 500 from any input -------------------------------------------------------------

BIG = "9223372036854775808"  # 2**63: one past the largest id a store column holds


BAD_REQUESTS = [
    ("GET", f"/api/v1/tracks/{BIG}", None),
    ("GET", "/api/v1/tracks", {"offset": BIG}),
    ("GET", "/api/v1/tracks", {"limit": BIG}),
    ("GET", "/api/v1/ledger", {"from": BIG}),
    ("GET", "/api/v1/stream/main/history", {"from": "nan"}),
    ("DELETE", "/api/v1/cache/0", None),
    ("DELETE", "/api/v1/cache/..", None),
    ("GET", "/api/v1/tracks", {"q": "a\x00b"}),
    ("GET", "/api/v1/tracks", {"genre": "\x00"}),
    ("GET", "/api/v1/listeners/a%00b/playlist", None),
    ("GET", "/api/v1/trust/a%00/b", None),
    ("GET", "/api/v1/jobs/%00", None),
]


def test_out_of_range_and_nul_in_paths_and_queries_are_4xx(any_store_station):
    headers = admin(any_store_station)
    with TestClient(create_api(any_store_station, manage_lifecycle=False)) as c:
        for method, path, params in BAD_REQUESTS:
            answer = c.request(method, path, params=params, headers=headers)
            assert 400 <= answer.status_code < 500, (method, path, params, answer.text)
            json_error(answer, answer.status_code)


BAD_BODIES = [
    ("/api/v1/auth/login", {"user_id": "a\x00b", "password": "x"}),
    (
        "/api/v1/listeners",
        {"user_id": "m", "password": "pw-1234", "preferences": {"moods": ["\x00"]}},
    ),
    (
        "/api/v1/listeners",
        {"user_id": "nulg", "password": "pw-1234", "preferences": {"genres": ["a\x00"]}},
    ),
    (  # 1e400 parses as infinity
        "/api/v1/listeners",
        '{"user_id": "w", "password": "pw-1234", "preferences": {"genres": {"jazz": 1e400}}}',
    ),
    ("/api/v1/datasets", {"name": "x", "license": "CC0-1.0", "tracks": [{"title": "t\x00"}]}),
    ("/api/v1/datasets", {"name": "x\x00", "license": "CC0-1.0", "tracks": []}),
    ("/api/v1/datasets", {"name": "x", "license": "CC0-1.0", "tracks": [{"a": {"b": 1}}]}),
    ("/api/v1/datasets", {"name": "x", "license": "CC0-1.0", "tracks": [{"year": 2**64}]}),
    ("/api/v1/listeners/root/interactions", {"track_id": 2**63, "type": "play"}),
    ("/api/v1/listeners/root/interactions", '{"track_id": 1, "type": "rate", "rating": 1e999}'),
    ("/api/v1/listeners/root/interactions", '{"track_id": 1, "type": "rate", "rating": NaN}'),
    ("/api/v1/devices", {"device_id": "d\x00", "device_type": "desktop"}),
    ("/api/v1/devices", {"device_id": "d", "device_type": "desktop", "x": [[1]]}),
    ("/api/v1/scan", {"path": "/tmp/\x00"}),
]


def test_bad_values_in_bodies_are_4xx_and_store_nothing(any_store_station):
    station = any_store_station
    headers = {**admin(station), "content-type": "application/json"}

    def stored() -> tuple[int, int, int]:
        return (
            len(station.parts.store.listeners.user_ids()),
            station.parts.store.datasets.count(),
            station.parts.store.interactions.count(),
        )

    before = stored()
    with TestClient(create_api(station, manage_lifecycle=False)) as c:
        for path, body in BAD_BODIES:
            text = body if isinstance(body, str) else json.dumps(body)
            answer = c.post(path, content=text, headers=headers)
            assert 400 <= answer.status_code < 500, (path, body, answer.text)
            json_error(answer, answer.status_code)
    assert stored() == before


def test_the_store_refuses_what_it_cannot_hold_as_input_errors(any_store_station):
    """The last line behind the API's bounds: a database's refusal is a 4xx, not a 500."""
    from qfzz.errors import UnstorableValue

    store = any_store_station.parts.store
    with pytest.raises(UnstorableValue):
        store.tracks.get(2**63)
    if not store.db.is_sqlite:
        with pytest.raises(UnstorableValue):
            store.listeners.get("a\x00b")


def test_unknown_methods_answer_405_with_allow(client):
    for method, path, allowed in [
        ("PUT", "/api/v1/tracks", "GET"),
        ("DELETE", "/rest/ping", "GET, POST"),
        ("PUT", "/api/v1/me/app-password", "GET, POST"),
        ("GET", "/api/v1/auth/login", "POST"),
    ]:
        answer = client.request(method, path)
        json_error(answer, 405)
        assert answer.headers["Allow"] == allowed


def test_an_unexpected_error_is_a_json_500_with_an_error_id_in_the_log(
    station, caplog, monkeypatch
):
    def broken() -> dict:
        raise RuntimeError("boom")

    monkeypatch.setattr(station, "health", broken)
    with (
        TestClient(create_api(station, manage_lifecycle=False), raise_server_exceptions=False) as c,
        caplog.at_level(logging.ERROR, logger="qfzz.api"),
    ):
        answer = c.get("/api/v1/health")
    body = json_error(answer, 500)
    assert body["error"] == "internal_error" and "boom" not in body["detail"]
    error_id = body["detail"].split("error id ")[1].split()[0]
    logged = [r for r in caplog.records if getattr(r, "error_id", None) == error_id]
    assert logged and logged[0].exc_info is not None


# -- Subsonic: bounded too, answered with its own error codes ----------------------------


def subsonic_failed(answer) -> dict:
    assert answer.status_code in (200, 429), answer.text
    body = answer.json()["subsonic-response"]
    assert body["status"] == "failed", body
    return body["error"]


def test_subsonic_json_nested_a_thousand_deep_is_an_error_not_a_500(client, station):
    station.register_listener("sam", {}, password="pw-12345")
    password = station.accounts.app_password("sam")
    nested = "[" * 1000 + "]" * 1000
    for params, content in [
        ({}, nested),
        ({"clientInfo": nested}, ""),
        ({"clientInfo": "[" * 40 + "]" * 40}, ""),
    ]:
        answer = client.post(
            "/rest/getTranscodeDecision",
            params={"u": "sam", "p": password, "f": "json", "mediaId": "tr-1", **params},
            content=content,
            headers={"content-type": "application/json"},
        )
        error = subsonic_failed(answer)
        assert error["code"] == 0 and "nested" in error["message"], error


def test_subsonic_bodies_are_bounded_and_ids_are_ascii_numbers(client, station):
    station.register_listener("sam", {}, password="pw-12345")
    auth = {"u": "sam", "p": station.accounts.app_password("sam"), "f": "json"}
    form = {"content-type": "application/x-www-form-urlencoded"}
    huge = b"a=" + b"x" * (2 << 20)
    # With its length declared, refused before the route runs; sent in chunks, counted.
    json_error(client.post("/rest/ping", params=auth, content=huge, headers=form), 413)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(huge), 65536):
            yield huge[start : start + 65536]

    answer = client.post("/rest/ping", params=auth, content=chunks(), headers=form)
    assert "over" in subsonic_failed(answer)["message"]
    for weird in ("tr-²", "²", f"tr-{BIG}", "tr-" + "9" * 40):
        answer = client.get("/rest/getSong", params={**auth, "id": weird})
        assert subsonic_failed(answer)["code"] == 70, weird
