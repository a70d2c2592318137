"""Every credential a player can carry in a stream URL, against a live station: ffmpeg
decodes what each one opens (stream keys, Subsonic credentials, Subsonic's own audio)."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from qfzz.testing import tracks_of_genre

pytestmark = pytest.mark.slow


def test_a_stream_key_opens_the_shared_and_the_personal_stream(live, decode):
    live.sign_in()
    key = live.station.accounts.create_stream_key("ann")
    assert "Audio: mp3" in decode(f"{live.url}/stream/main?key={key}")
    assert "Audio: opus" in decode(f"{live.url}/api/v1/listeners/ann/stream?format=opus&key={key}")
    live.station.accounts.revoke_stream_key("ann")
    answer = httpx.get(f"{live.url}/stream/main?key={key}")
    assert answer.status_code == 401 and "revoked" in answer.json()["detail"]


def test_subsonic_credentials_open_the_streams(live, decode):
    headers, _ = live.sign_in()
    password = live.station.accounts.app_password("ann")
    token = hashlib.md5((password + "s4lt").encode()).hexdigest()
    api_key = headers["Authorization"].removeprefix("Bearer ")
    for query in (
        f"u=ann&t={token}&s=s4lt&v=1.16.1&c=app",
        f"u=ann&p={password}",
        f"u=ann&p=enc:{password.encode().hex()}",
        f"apiKey={api_key}",
    ):
        assert "Audio: mp3" in decode(f"{live.url}/stream/main?{query}")
    decode(f"{live.url}/api/v1/listeners/ann/stream?u=ann&t={token}&s=s4lt")


def test_subsonic_stream_and_download_take_a_stream_key(live, decode):
    live.sign_in()
    key = live.station.accounts.create_stream_key("ann")
    track = tracks_of_genre(live.station, "rock")[0]
    rest = f"{live.url}/rest/{{}}?id=tr-{track}&key={key}&v=1.16.1&c=app"
    assert "Audio: opus" in decode(rest.format("stream") + "&format=opus")
    download = httpx.get(rest.format("download"))
    assert download.status_code == 200 and download.headers["content-type"] == "audio/mpeg"
    assert "Audio: mp3" in decode(rest.format("download"))


def test_a_subsonic_apps_internet_radio_url_plays_as_given(live, decode):
    """The whole path an app takes: list the internet radio stations with its own
    credentials, then open the stream URL exactly as the server gave it."""
    live.sign_in()
    password = live.station.accounts.app_password("ann")
    token = hashlib.md5((password + "pep").encode()).hexdigest()
    answer = httpx.get(
        f"{live.url}/rest/getInternetRadioStations",
        params={"u": "ann", "t": token, "s": "pep", "v": "1.16.1", "c": "app", "f": "json"},
    )
    stations = answer.json()["subsonic-response"]["internetRadioStations"]
    url = stations["internetRadioStation"][0]["streamUrl"]
    absolute = url if url.startswith("http") else f"{live.url}{url}"
    assert "Audio: mp3" in decode(absolute)


def test_a_login_password_in_a_stream_url_is_told_apart_from_a_wrong_one(live, decode):
    live.sign_in()  # password "pw-1234"
    login = httpx.get(f"{live.url}/stream/main?u=ann&p=pw-1234")
    wrong = httpx.get(f"{live.url}/stream/main?u=ann&p=nope")
    assert login.status_code == wrong.status_code == 401
    assert "login password" in login.json()["detail"]
    assert "app password" in login.json()["detail"]
    assert "login password" not in wrong.json()["detail"]
