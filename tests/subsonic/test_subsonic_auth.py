"""Subsonic authentication: token + salt, plain and ``enc:`` passwords, API keys."""

from __future__ import annotations

import hashlib


def status(sub, params: dict[str, str]) -> dict:
    answer = sub.client.get("/rest/ping.view", params={"f": "json", "c": "t", **params})
    assert answer.status_code == 200
    return answer.json()["subsonic-response"]


def test_token_and_salt(sub):
    token = hashlib.md5((sub.password + "abc123").encode()).hexdigest()
    assert status(sub, {"u": "ann", "t": token, "s": "abc123"})["status"] == "ok"


def test_plain_and_hex_encoded_password(sub):
    assert status(sub, {"u": "ann", "p": sub.password})["status"] == "ok"
    encoded = "enc:" + sub.password.encode().hex()
    assert status(sub, {"u": "ann", "p": encoded})["status"] == "ok"


def test_the_login_password_is_not_the_app_password(sub):
    answer = status(sub, {"u": "ann", "p": "pw-1234"})
    assert answer["error"] == {"code": 40, "message": "wrong username or password"}


def test_wrong_password_and_token_are_code_40(sub):
    assert status(sub, {"u": "ann", "p": "nope"})["error"]["code"] == 40
    assert status(sub, {"u": "ann", "t": "0" * 32, "s": "x"})["error"]["code"] == 40
    assert status(sub, {"u": "nobody", "p": "x"})["error"]["code"] == 40


def test_missing_credentials_are_code_10(sub):
    for params in ({}, {"u": "ann"}, {"u": "ann", "t": "abc"}):
        error = status(sub, params)["error"]
        assert error["code"] == 10
        assert error["message"].startswith("required parameter is missing")


def test_api_key_is_a_bearer_token(sub):
    key = sub.station.accounts.issue_token("ann")
    assert status(sub, {"apiKey": key})["status"] == "ok"
    assert status(sub, {"apiKey": "not-a-key"})["error"]["code"] == 44
    assert status(sub, {"apiKey": key, "u": "ann"})["error"]["code"] == 43


def test_extensions_are_listed_without_credentials(sub):
    answer = sub.client.get("/rest/getOpenSubsonicExtensions", params={"f": "json"})
    names = {e["name"] for e in answer.json()["subsonic-response"]["openSubsonicExtensions"]}
    assert {"transcoding", "playbackReport", "formPost", "apiKeyAuthentication"} <= names


def test_other_users_are_not_visible(sub):
    sub.station.register_listener("bob", {}, password="pw-5678")
    assert sub.json("getUser", username="bob")["error"]["code"] == 50
    assert sub.json("getUser")["user"]["username"] == "ann"
    assert sub.json("startScan")["error"]["code"] == 50  # admin only
