"""The operator token: what the CLI on the station's machine signs in with.

It is an admin of no account, read from ``<data_dir>/operator.token``; a wrong token signs
in nobody; the routes the CLI needs (adding a listener without a password, a profile's
weights, mining) answer it and refuse listeners who are not admins.
"""

from __future__ import annotations

import os
import stat

import pytest
from tests.api.test_auth import error, register

from qfzz.models import normalise_user_id
from qfzz.serving import OPERATOR, OPERATOR_TOKEN_FILE, operator_token


@pytest.fixture
def operator(station) -> dict[str, str]:
    token = operator_token(station.settings.data_dir, create=False)
    assert token is not None and len(token) >= 40
    return {"Authorization": f"Bearer {token}"}


def test_the_token_file_is_the_owners_alone_and_signs_in_an_admin(client, station, operator):
    path = station.settings.data_dir / OPERATOR_TOKEN_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert station.accounts.authenticate(operator["Authorization"][7:]).is_admin
    assert client.post("/api/v1/ledger/repair", headers=operator).status_code == 200
    near = operator["Authorization"][:-1] + ("A" if operator["Authorization"][-1] != "A" else "B")
    error(client.get("/api/v1/cache/stats", headers={"Authorization": near}), 401, "unauthorized")
    with pytest.raises(ValueError):
        normalise_user_id(OPERATOR)  # no listener can be the operator


def test_only_an_admin_adds_a_listener_without_a_password(client, station, operator):
    anonymous = client.post("/api/v1/listeners", json={"user_id": "ann"})
    error(anonymous, 422, "invalid_input")
    assert station.parts.store.listeners.get("ann") is None
    added = client.post("/api/v1/listeners", json={"user_id": "ann"}, headers=operator)
    assert added.status_code == 201, added.text
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {added.json()['token']}"})
    assert me.json()["user_id"] == "ann"
    refused = client.post("/api/v1/auth/login", json={"user_id": "ann", "password": "pw-1234"})
    assert refused.status_code == 401  # no password was set: none signs in
    error(
        client.post("/api/v1/listeners", json={"user_id": "eve"}, headers={"Authorization": "x"}),
        401,
        "unauthorized",
    )


def test_an_admin_adding_listeners_is_not_held_by_the_sign_up_limit(client, station, operator):
    for n in range(station.settings.registrations_per_hour + 3):
        added = client.post("/api/v1/listeners", json={"user_id": f"u{n}"}, headers=operator)
        assert added.status_code == 201, added.text
    anonymous = client.post("/api/v1/listeners", json={"user_id": "v", "password": "pw-1234"})
    assert anonymous.status_code == 201  # the operator's sign-ups did not use the address's


def test_a_profile_shows_what_the_dj_learned_to_its_listener_and_admins(client, operator):
    ann, bob = register(client, "ann"), register(client, "bob")
    track = client.get("/api/v1/tracks", headers=ann).json()["tracks"][0]
    liked = client.post(
        "/api/v1/listeners/ann/interactions",
        json={"track_id": track["track_id"], "type": "like"},
        headers=ann,
    )
    assert liked.status_code == 201
    weights = client.get("/api/v1/listeners/ann/profile", headers=ann).json()["weights"]
    assert weights["genre"][track["genre"]] > 0
    assert client.get("/api/v1/listeners/ann/profile", headers=operator).json()["weights"] == (
        weights
    )
    error(client.get("/api/v1/listeners/ann/profile", headers=bob), 403, "forbidden")


def test_mining_on_demand_is_for_admins(client, station, operator):
    ann = register(client, "ann")
    error(client.post("/api/v1/ledger/mine", headers=ann), 403, "forbidden")
    track = client.get("/api/v1/tracks", headers=ann).json()["tracks"][0]
    client.post(
        "/api/v1/listeners/ann/interactions",
        json={"track_id": track["track_id"], "type": "like"},
        headers=ann,
    )
    before = station.ledger_summary().height
    mined = client.post("/api/v1/ledger/mine", headers=operator).json()
    assert mined["mined"] >= 1 and mined["height"] == before + mined["mined"]
    assert station.ledger_summary().pending == 0
