from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient

from qfzz.api import create_api
from qfzz.errors import AuthError
from qfzz.settings import Settings
from qfzz.station import QFZZStation


@pytest.fixture
def client(station):
    with TestClient(create_api(station, manage_lifecycle=False)) as c:
        yield c


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
    assert station.store.listeners.get("late") is None


def test_signed_stream_tokens_are_short_lived(station, clock):
    station.register_listener("ann", {}, password="pw-1234")
    token = station.accounts.stream_token("ann")
    assert station.accounts.verify_stream_token(token).user_id == "ann"
    with pytest.raises(AuthError):
        station.accounts.verify_stream_token(token.replace("ann", "bob", 1))
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
    with station.store.db.read() as conn:
        from sqlalchemy import text

        sealed = conn.execute(text("select app_password from listeners")).scalar()
    assert fresh not in sealed  # stored encrypted


def test_admin_from_the_environment_on_first_start(tmp_path, clock):
    settings = Settings(data_dir=tmp_path / "d", demo_library=False, admin_password="root-pw")
    station = QFZZStation(settings, clock=clock)
    station.start()
    try:
        token = station.accounts.login("admin", "root-pw")
        assert station.accounts.authenticate(token).is_admin
    finally:
        station.close()
