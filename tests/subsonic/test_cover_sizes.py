"""getCoverArt's ``size`` is honoured for the pictures files carry: scaled down on the
server, once per picture and size; a picture that is no picture, or a decompression bomb,
is served as it is, never decoded whole. QFZZ's web page signs in with a bearer header,
and its ``<img>`` and ``<audio>`` URLs with a signed stream token."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator

import mutagen
import numpy as np
import pytest
from fastapi.testclient import TestClient
from mutagen.id3 import APIC
from PIL import Image
from tests.subsonic.conftest import Subsonic

import qfzz.station._covers as covers
from qfzz.api import create_api
from qfzz.app import build_station
from qfzz.settings import Settings
from qfzz.testing import write_tone


def _jpeg(width: int, height: int) -> bytes:
    pixels = np.random.default_rng(3).integers(0, 255, (height, width, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=90)
    return out.getvalue()


def _png_header(width: int, height: int) -> bytes:
    """A PNG that says it is ``width`` × ``height`` and holds almost nothing."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = b"IHDR" + header
    chunk = struct.pack(">I", len(header)) + body + struct.pack(">I", zlib.crc32(body))
    return b"\x89PNG\r\n\x1a\n" + chunk


PICTURES = {
    "Big": ("image/jpeg", _jpeg(900, 600)),
    "Bomb": ("image/png", _png_header(60_000, 60_000)),
}


@pytest.fixture
def pictured(tmp_path) -> Iterator[Subsonic]:
    music = tmp_path / "music"
    for n, album in enumerate(PICTURES):
        path = music / album / f"{n}.mp3"
        path.parent.mkdir(parents=True)
        tags = {"title": f"T{n}", "artist": "Painter", "album": album, "genre": "jazz"}
        write_tone(path, 220 + 110 * n, 1.0, 0.3, tags)
        mime, data = PICTURES[album]
        tagged = mutagen.File(path)
        tagged.tags.add(APIC(encoding=3, mime=mime, type=3, desc="front", data=data))
        tagged.save()
    station = build_station(Settings(data_dir=tmp_path / "data", demo_library=False))
    station.start()
    station.scan(music)
    station.register_listener("ann", {"genres": ["jazz"]}, password="pw-1234")
    try:
        with TestClient(create_api(station, manage_lifecycle=False)) as client:
            yield Subsonic(client, station, "ann", station.accounts.app_password("ann"))
    finally:
        station.close()


def _albums(sub: Subsonic) -> dict[str, dict]:
    albums = sub.json("getAlbumList2", type="alphabeticalByName")["albumList2"]["album"]
    return {a["name"]: a for a in albums}


def test_a_size_scales_a_picture_down_once_and_never_up(pictured, monkeypatch):
    made: list[int] = []
    real = covers.resized
    monkeypatch.setattr(covers, "resized", lambda art, size: made.append(size) or real(art, size))
    cover = _albums(pictured)["Big"]["coverArt"]
    whole = pictured.get("getCoverArt", id=cover)
    assert whole.content == PICTURES["Big"][1] and made == []  # no size: the file's picture
    small = pictured.get("getCoverArt", id=cover, size=120)
    assert small.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(small.content)) as image:
        assert image.size == (120, 80)  # the aspect kept
    assert len(small.content) < len(whole.content) / 5
    again = pictured.get("getCoverArt", id=cover, size=120)
    assert again.content == small.content and made == [120]  # resized once
    large = pictured.get("getCoverArt", id=cover, size=4000)
    assert large.content == PICTURES["Big"][1]  # never scaled up


def test_a_picture_that_claims_to_be_huge_is_not_decoded(pictured):
    bomb = pictured.get("getCoverArt", id=_albums(pictured)["Bomb"]["coverArt"], size=100)
    assert bomb.status_code == 200 and bomb.content == PICTURES["Bomb"][1]


def test_the_web_page_signs_in_with_its_session_and_media_urls_with_a_stream_token(pictured):
    client, station = pictured.client, pictured.station
    token = station.accounts.login("ann", "pw-1234")
    bearer = {"Authorization": f"Bearer {token}"}
    base = {"f": "json", "v": "1.16.1", "c": "qfzz-web"}
    artists = client.get("/rest/getArtists", params=base, headers=bearer).json()
    assert artists["subsonic-response"]["status"] == "ok"
    wrong = client.get("/rest/getArtists", params=base, headers={"Authorization": "Bearer x"})
    assert wrong.json()["subsonic-response"]["status"] == "failed"
    # credentials in the query come first: an app's (a proxy may add a header of its own)
    both = client.get("/rest/getArtists", params={**base, "u": "ann", "p": "x"}, headers=bearer)
    assert both.json()["subsonic-response"]["error"]["code"] == 40
    basic = {"Authorization": "Basic YW5uOnB3"}
    proxied = client.get("/rest/getArtists", params={**base, **pictured.auth()}, headers=basic)
    assert proxied.json()["subsonic-response"]["status"] == "ok"
    stream_token = station.accounts.stream_token(station.accounts.authenticate(token))
    cover = _albums(pictured)["Big"]["coverArt"]
    image = client.get("/rest/getCoverArt", params={**base, "id": cover, "token": stream_token})
    assert image.headers["content-type"] == "image/jpeg"
    song = client.get("/rest/getAlbum", params={**base, "id": _albums(pictured)["Big"]["id"]},
                      headers=bearer).json()["subsonic-response"]["album"]["song"][0]  # fmt: skip
    audio = client.get("/rest/stream", params={**base, "id": song["id"], "token": stream_token})
    assert audio.status_code == 200 and audio.headers["content-type"].startswith("audio/")
    # a stream token opens media, never the rest of the account
    listed = client.get("/rest/getArtists", params={**base, "token": stream_token})
    assert listed.json()["subsonic-response"]["status"] == "failed"
