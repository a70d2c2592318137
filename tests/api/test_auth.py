from __future__ import annotations

import hashlib
import json

import httpx
import pytest
from argon2 import PasswordHasher, extract_parameters
from fastapi.testclient import TestClient

from qfzz.api import create_api
from qfzz.app import build_station
from qfzz.errors import AuthError
from qfzz.settings import Settings
from qfzz.testing import live_station, streaming_settings, write_tone_library


def register(client, user, password="pw-1234"):
    response = client.post("/api/v1/listeners", json={"user_id": user, "password": password})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def error(response, status, code):
    assert response.status_code == status, response.text
    assert response.json()["error"] == code and response.json()["detail"]


def test_login_logout_and_who_am_i(client):
    register(client, "ann")
    error(client.get("/api/v1/me"), 401, "unauthorized")
    error(client.get("/api/v1/me", headers={"Authorization": "Basic abc"}), 401, "unauthorized")
    bad = client.post("/api/v1/auth/login", json={"user_id": "ann", "password": "nope"})
    error(bad, 401, "unauthorized")
    assert bad.headers["WWW-Authenticate"].startswith("Bearer")
    session = client.post("/api/v1/auth/login", json={"user_id": "ann", "password": "pw-1234"})
    headers = {"Authorization": f"Bearer {session.json()['token']}"}
    assert client.get("/api/v1/me", headers=headers).json() == {
        "user_id": "ann",
        "role": "listener",
    }
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    error(client.get("/api/v1/me", headers=headers), 401, "unauthorized")


def test_tokens_expire(client, station, clock):
    headers = register(client, "ann")
    clock.advance(station.settings.token_ttl_seconds + 1)
    error(client.get("/api/v1/me", headers=headers), 401, "unauthorized")


def test_listeners_only_reach_their_own_things_and_admins_reach_admin_routes(client, station):
    ann = register(client, "ann")
    register(client, "bob")
    error(client.get("/api/v1/listeners/bob/playlist", headers=ann), 403, "forbidden")
    error(client.post("/api/v1/listeners/bob/skip", headers=ann), 403, "forbidden")
    dataset = {"name": "d", "license": "CC0", "tracks": [{"title": "t", "artist": "a"}]}
    error(client.post("/api/v1/datasets", json=dataset, headers=ann), 403, "forbidden")
    error(client.post("/api/v1/ledger/repair", headers=ann), 403, "forbidden")
    station.accounts.make_admin("ann")
    assert client.get("/api/v1/listeners/bob/playlist", headers=ann).status_code == 200
    assert client.post("/api/v1/ledger/repair", headers=ann).json()["first_bad_block"] is None


def test_login_and_registration_are_rate_limited(client, station, clock):
    register(client, "ann")
    limit = station.settings.login_attempts_per_minute
    for _ in range(limit):
        client.post("/api/v1/auth/login", json={"user_id": "ann", "password": "x"})
    limited = client.post("/api/v1/auth/login", json={"user_id": "ann", "password": "pw-1234"})
    error(limited, 429, "rate_limited")
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    clock.advance(61)
    ok = client.post("/api/v1/auth/login", json={"user_id": "ann", "password": "pw-1234"})
    assert ok.status_code == 200
    for n in range(station.settings.registrations_per_hour - 1):
        client.post("/api/v1/listeners", json={"user_id": f"u{n}", "password": "pw-1234"})
    error(
        client.post("/api/v1/listeners", json={"user_id": "late", "password": "pw-1234"}),
        429,
        "rate_limited",
    )
    assert station.parts.store.listeners.get("late") is None


def test_signed_stream_tokens_are_short_lived(station, clock):
    ann = station.register_listener("ann", {}, password="pw-1234")
    bob = station.register_listener("bob", {}, password="pw-1234")
    token = station.accounts.stream_token(station.accounts.authenticate(ann.token))
    assert station.accounts.verify_stream_token(token).user_id == "ann"
    expires, session, signature = token.split(".")
    bobs = station.accounts.authenticate(bob.token).session
    forged = (
        f"{expires}.{bobs}.{signature}",  # another session under ann's signature
        f"{int(expires) + 3600}.{session}.{signature}",  # a later expiry
        f"{expires}.{session}.{signature[:-1]}{'0' if signature[-1] != '0' else '1'}",
        f"{expires}.{session}",
        "ann.99999999999.bad",
        "é" * 40,
        "",
    )
    for bad in forged:
        with pytest.raises(AuthError):
            station.accounts.verify_stream_token(bad)
    clock.advance(station.settings.stream_token_ttl_seconds + 1)
    with pytest.raises(AuthError):
        station.accounts.verify_stream_token(token)


def test_subsonic_credentials_use_the_app_password(client, station):
    headers = register(client, "ann", password="login-secret")
    app_password = client.get("/api/v1/me/app-password", headers=headers).json()["app_password"]
    assert app_password != "login-secret"
    salt = "c19b2d"
    token = hashlib.md5((app_password + salt).encode()).hexdigest()
    assert station.accounts.subsonic("ann", token=token, salt=salt).user_id == "ann"
    assert station.accounts.subsonic("ann", password=app_password).user_id == "ann"
    assert station.accounts.subsonic("ann", password="enc:" + app_password.encode().hex())
    for kwargs in ({"password": "login-secret"}, {"token": token, "salt": "other"}):
        with pytest.raises(AuthError):
            station.accounts.subsonic("ann", **kwargs)
    fresh = client.post("/api/v1/me/app-password", headers=headers).json()["app_password"]
    assert fresh != app_password
    with station.parts.store.db.read() as conn:
        from sqlalchemy import text

        sealed = conn.execute(text("select app_password from listeners")).scalar()
    assert fresh not in sealed  # stored encrypted


def test_admin_from_the_environment_on_first_start(tmp_path, clock):
    settings = Settings(data_dir=tmp_path / "d", demo_library=False, admin_password="root-pw")
    station = build_station(settings, clock=clock)
    station.start()
    try:
        token = station.accounts.login("admin", "root-pw")
        assert station.accounts.authenticate(token).is_admin
    finally:
        station.close()


# -- issue 11: hostile user ids, login timing, stream tokens after logout ---------------------


@pytest.fixture
def roomy_client(tmp_path, clock):
    """A client of a station whose sign-up and login limits leave room for many tries."""
    settings = Settings(
        data_dir=tmp_path / "roomy",
        demo_library=False,
        registrations_per_hour=1000,
        login_attempts_per_minute=1000,
        password_checks_per_second=1000,
    )
    station = build_station(settings, clock=clock)
    station.start()
    try:
        with TestClient(create_api(station, manage_lifecycle=False)) as c:
            yield c
    finally:
        station.close()


def test_a_user_id_is_one_account_whatever_its_spelling(roomy_client):
    client = roomy_client
    assert register_as(client, "admin") == "admin"
    # a trailing newline, surrounding spaces, another case or full-width letters: the same id
    for twin in ("admin\n", " admin", "admin\t", "ADMIN", "Admin ", "ａｄｍｉｎ"):
        response = client.post("/api/v1/listeners", json={"user_id": twin, "password": "pw-1234"})
        error(response, 409, "listener_exists")
    for bad in ("ad\nmin", "ad min", "ad\u200bmin", "ad\x00min", "\u0301e", "-ann", "a/b", "   "):
        response = client.post("/api/v1/listeners", json={"user_id": bad, "password": "pw-1234"})
        error(response, 422, "invalid_input")
    # letters beyond ASCII are welcome, in either Unicode spelling
    assert register_as(client, "zoë") == "zoë"
    assert register_as(client, "田中") == "田中"
    assert register_as(client, "Ünal.ß-x_y@z") == "Ünal.ß-x_y@z"
    for twin in ("Zoë", "zoe\u0308", "ZOË"):
        response = client.post("/api/v1/listeners", json={"user_id": twin, "password": "pw-1234"})
        error(response, 409, "listener_exists")
    # sign-in takes any spelling and answers the stored one
    for spelling in ("ZOË", "zoe\u0308", " zoë\n"):
        signed_in = client.post("/api/v1/auth/login", json={"user_id": spelling, "password": "pw"})
        error(signed_in, 401, "unauthorized")
        signed_in = client.post(
            "/api/v1/auth/login", json={"user_id": spelling, "password": "pw-1234"}
        )
        assert signed_in.status_code == 200, signed_in.text
        assert signed_in.json()["user_id"] == "zoë"
    assert (
        client.post(
            "/api/v1/auth/login", json={"user_id": "ADMIN\n", "password": "pw-1234"}
        ).json()["user_id"]
        == "admin"
    )


def register_as(client, user, password="pw-1234"):
    response = client.post("/api/v1/listeners", json={"user_id": user, "password": password})
    assert response.status_code == 201, response.text
    return response.json()["user_id"]


def test_an_unknown_user_costs_the_same_argon2_verification_as_a_wrong_password(
    station, monkeypatch
):
    station.register_listener("ann", {}, password="pw-1234")
    station.register_listener("nopw", {})  # made on the command line, without a password
    checked: list[str] = []
    real_verify = PasswordHasher.verify

    def spy(self, hash, password):
        checked.append(hash)
        return real_verify(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", spy)
    for user_id in ("ann", "nobody", "nopw", "NOBODY"):
        checked.clear()
        with pytest.raises(AuthError):
            station.accounts.login(user_id, "wrong-password")
        assert len(checked) == 1, user_id
        # the stand-in hash costs what a real one does: same algorithm and parameters
        assert extract_parameters(checked[0]) == extract_parameters(checked_hash(station, "ann"))
    checked.clear()
    station.accounts.login("ann", "pw-1234")
    assert len(checked) == 1


def checked_hash(station, user_id):
    with station.parts.store.db.read() as conn:
        from sqlalchemy import text

        return conn.execute(
            text("select password_hash from listeners where user_id = :u"), {"u": user_id}
        ).scalar()


def test_logout_revokes_the_stream_tokens_of_its_session(client):
    first = register(client, "ann")
    signed_in = client.post("/api/v1/auth/login", json={"user_id": "ann", "password": "pw-1234"})
    second = {"Authorization": f"Bearer {signed_in.json()['token']}"}
    urls = {}
    for name, headers in (("first", first), ("second", second)):
        minted = client.get("/api/v1/auth/stream-token", headers=headers).json()
        token = minted["token"]
        # a stream URL's token authenticates: an unknown mount is a 404, not a 401
        urls[name] = f"/api/v1/events?mount=nope&token={token}"
        assert client.get(urls[name]).status_code == 404
    assert client.post("/api/v1/auth/logout", headers=second).status_code == 204
    error(client.get(urls["second"]), 401, "unauthorized")
    assert client.get(urls["first"]).status_code == 404  # another session's URLs live on
    assert client.post("/api/v1/auth/logout", headers=first).status_code == 204
    error(client.get(urls["first"]), 401, "unauthorized")


def test_a_stream_url_answers_401_after_logout(tmp_path):
    library = write_tone_library(tmp_path / "tones", tracks=2, seconds=2.0)
    with live_station(streaming_settings(tmp_path / "data"), library) as live:
        headers, _ = live.sign_in("ann")
        minted = httpx.get(f"{live.url}/api/v1/auth/stream-token", headers=headers).json()
        url = live.url + minted["shared_stream"]
        with httpx.stream("GET", url, timeout=10) as audio:
            assert audio.status_code == 200
            assert next(audio.iter_bytes())
        logout = httpx.post(f"{live.url}/api/v1/auth/logout", headers=headers, timeout=10)
        assert logout.status_code == 204
        with httpx.stream("GET", url, timeout=10) as again:  # (a 200 would never end)
            assert again.status_code == 401
            assert json.loads(again.read())["error"] == "unauthorized"
