"""Snapshots of the wire format (XML and JSON) of a few responses, and the envelopes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from qfzz.api import create_api
from qfzz.app import build_station
from qfzz.testing import SyntheticTrack, add_synthetic_tracks

TWO = [
    SyntheticTrack("Blue Air", "Mina Okabe", "jazz", album="Night Walks"),
    SyntheticTrack("Red Rain", "Mina Okabe", "jazz", album="Night Walks"),
]
ALBUM = "al-7dd5c8840cb399ff"


@pytest.fixture
def small(settings, clock) -> Iterator[TestClient]:
    station = build_station(settings, clock=clock)
    add_synthetic_tracks(station.parts.store, TWO, now=clock())
    station.start()
    station.register_listener("ann", {}, password="pw-1234")
    password = station.accounts.app_password("ann")
    with TestClient(create_api(station, manage_lifecycle=False)) as client:
        client.params = {"u": "ann", "p": password, "c": "snap", "v": "1.16.1"}  # type: ignore[assignment]
        yield client
    station.close()


def body(client: TestClient, method: str, **params: str) -> str:
    answer = client.get(f"/rest/{method}", params=params)
    assert answer.status_code == 200
    return answer.text


HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<subsonic-response '
    'xmlns="http://subsonic.org/restapi" status="{status}" version="1.16.1" type="qfzz" '
    'serverVersion="0.1.0" openSubsonic="true"'
)
ENVELOPE = {
    "status": "ok",
    "version": "1.16.1",
    "type": "qfzz",
    "serverVersion": "0.1.0",
    "openSubsonic": True,
}


def test_ping_xml_and_json(small):
    assert body(small, "ping") == HEAD.format(status="ok") + " />"
    assert json.loads(body(small, "ping.view", f="json")) == {"subsonic-response": ENVELOPE}


def test_jsonp_wraps_the_json_in_the_callback(small):
    answer = small.get("/rest/ping", params={"f": "jsonp", "callback": "cb"})
    assert answer.headers["content-type"].startswith("application/javascript")
    assert (
        answer.text == f"cb({json.dumps({'subsonic-response': ENVELOPE}, separators=(',', ':'))});"
    )


def test_form_post_is_read_like_get(small):
    answer = small.post("/rest/ping.view", data={**small.params, "f": "json"}, params={})
    assert answer.json()["subsonic-response"]["status"] == "ok"


def test_error_xml_and_json(small):
    xml = body(small, "getAlbum", id="al-0000000000000000")
    assert xml == (
        HEAD.format(status="failed")
        + '><error code="70" message="no album with id 0000000000000000" /></subsonic-response>'
    )
    data = json.loads(body(small, "getAlbum", f="json"))
    assert data == {
        "subsonic-response": {
            **ENVELOPE,
            "status": "failed",
            "error": {"code": 10, "message": "required parameter is missing: id"},
        }
    }


SONG_1 = {
    "id": "tr-1",
    "parent": ALBUM,
    "isDir": False,
    "title": "Blue Air",
    "album": "Night Walks",
    "artist": "Mina Okabe",
    "year": 2020,
    "genre": "jazz",
    "coverArt": ALBUM,
    "contentType": "audio/mpeg",
    "suffix": "mp3",
    "duration": 30,
    "bitRate": 192,
    "path": "000000 Mina Okabe - Blue Air.mp3",
    "playCount": 0,
    "created": "2027-01-15T08:00:00.000Z",
    "albumId": ALBUM,
    "artistId": "ar-69ed0d18e8ee2c63",
    "type": "music",
    "mediaType": "song",
    "isVideo": False,
}
ALBUM_JSON = {
    "id": ALBUM,
    "name": "Night Walks",
    "artist": "Mina Okabe",
    "artistId": "ar-69ed0d18e8ee2c63",
    "coverArt": ALBUM,
    "songCount": 2,
    "duration": 60,
    "created": "2027-01-15T08:00:00.000Z",
    "year": 2020,
    "genre": "jazz",
}


def test_get_album_json(small):
    data = json.loads(body(small, "getAlbum", id=ALBUM, f="json"))["subsonic-response"]
    song_2 = {
        **SONG_1,
        "id": "tr-2",
        "title": "Red Rain",
        "path": "000001 Mina Okabe - Red Rain.mp3",
    }
    assert data == {**ENVELOPE, "album": {**ALBUM_JSON, "song": [SONG_1, song_2]}}


def test_get_album_xml(small):
    xml = body(small, "getAlbum", id=ALBUM)
    song = (
        '<song id="tr-{n}" parent="{a}" isDir="false" title="{title}" album="Night Walks" '
        'artist="Mina Okabe" year="2020" genre="jazz" coverArt="{a}" contentType="audio/mpeg" '
        'suffix="mp3" duration="30" bitRate="192" path="00000{m} Mina Okabe - {title}.mp3" '
        'playCount="0" created="2027-01-15T08:00:00.000Z" albumId="{a}" '
        'artistId="ar-69ed0d18e8ee2c63" type="music" mediaType="song" isVideo="false" />'
    )
    assert xml == (
        HEAD.format(status="ok") + f'><album id="{ALBUM}" name="Night Walks" artist="Mina Okabe" '
        f'artistId="ar-69ed0d18e8ee2c63" coverArt="{ALBUM}" songCount="2" duration="60" '
        'created="2027-01-15T08:00:00.000Z" year="2020" genre="jazz">'
        + song.format(n=1, m=0, a=ALBUM, title="Blue Air")
        + song.format(n=2, m=1, a=ALBUM, title="Red Rain")
        + "</album></subsonic-response>"
    )


def test_search3_json_and_xml(small):
    data = json.loads(body(small, "search3", query="red", f="json"))["subsonic-response"]
    song_2 = {
        **SONG_1,
        "id": "tr-2",
        "title": "Red Rain",
        "path": "000001 Mina Okabe - Red Rain.mp3",
    }
    song_2.pop("created")
    assert data == {**ENVELOPE, "searchResult3": {"artist": [], "album": [], "song": [song_2]}}
    xml = body(small, "search3", query="okabe", songCount="0")
    assert xml == (
        HEAD.format(status="ok")
        + '><searchResult3><artist id="ar-69ed0d18e8ee2c63" name="Mina Okabe" '
        'coverArt="ar-69ed0d18e8ee2c63" albumCount="1" />'
        f'<album id="{ALBUM}" name="Night Walks" artist="Mina Okabe" '
        f'artistId="ar-69ed0d18e8ee2c63" coverArt="{ALBUM}" songCount="2" duration="60" '
        'created="2027-01-15T08:00:00.000Z" year="2020" genre="jazz" />'
        "</searchResult3></subsonic-response>"
    )
