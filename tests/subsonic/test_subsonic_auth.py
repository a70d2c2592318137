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


def test_the_login_password_is_not_the_app_password_and_says_so(sub):
    answer = status(sub, {"u": "ann", "p": "pw-1234"})
    assert answer["error"]["code"] == 40
    assert answer["error"]["message"].startswith("this is your login password;")
    assert "/api/v1/me/app-password" in answer["error"]["message"]
    encoded = "enc:" + b"pw-1234".hex()
    assert status(sub, {"u": "ann", "p": encoded})["error"]["message"].startswith("this is your")
    # a wrong password is only wrong; a token cannot tell (it hides the password)
    assert status(sub, {"u": "ann", "p": "nope"})["error"]["message"] == (
        "wrong username or password"
    )
    token = hashlib.md5(b"pw-1234salt").hexdigest()
    answer = status(sub, {"u": "ann", "t": token, "s": "salt"})
    assert answer["error"]["message"] == "wrong username or password"


def test_the_login_password_hint_stays_inside_the_failure_limit(sub):
    """Past the limit every attempt is refused before any password is checked."""
    for _ in range(40):
        answer = sub.client.get("/rest/ping.view", params={"f": "json", "u": "ann", "p": "x"})
        if answer.status_code == 429:
            break
    else:
        raise AssertionError("the failure limit never answered 429")
    late = sub.client.get("/rest/ping.view", params={"f": "json", "u": "ann", "p": "pw-1234"})
    assert late.status_code == 429
    assert "login password" not in late.json()["subsonic-response"]["error"]["message"]


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
    wrong = status(sub, {"apiKey": sub.password})["error"]  # the app password is no API key
    assert wrong["code"] == 44
    assert "an API key is a QFZZ session token" in wrong["message"]
    assert "/api/v1/auth/login" in wrong["message"] and "app password" in wrong["message"]
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
