"""Subsonic fixtures: an in-process client over the synthetic catalog, and a real HTTP
server over real audio files for the PyPI client libraries (py-sonic, knuckles)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from qfzz.api import create_api
from qfzz.app import build_station
from qfzz.settings import Settings
from qfzz.station import QFZZStation
from qfzz.testing import serve_in_thread, write_tone

MBID = "6f1d1b2c-0000-4000-8000-000000000001"
SLEEVE = b"\xff\xd8\xff\xe0" + b"sleeve" * 50  # a JPEG's first bytes, then anything


@pytest.fixture
def mbid() -> str:
    """The MusicBrainz track id one tone of ``tone_albums`` carries."""
    return MBID


@dataclass
class Subsonic:
    """A TestClient with ann's credentials."""

    client: TestClient
    station: QFZZStation
    user: str
    password: str

    def auth(self, **extra: str) -> dict[str, str]:
        salt = "s4lt"
        token = hashlib.md5((self.password + salt).encode()).hexdigest()
        return {"u": self.user, "t": token, "s": salt, "c": "tests", "v": "1.16.1", **extra}

    def get(self, method: str, **params: object):
        return self.client.get(f"/rest/{method}", params={**self.auth(), **params})

    def json(self, method: str, **params: object) -> dict:
        answer = self.get(method, f="json", **params)
        assert answer.status_code == 200
        return answer.json()["subsonic-response"]


@pytest.fixture
def sub(station) -> Iterator[Subsonic]:
    station.register_listener("ann", {"genres": ["jazz"]}, password="pw-1234")
    password = station.accounts.app_password("ann")
    with TestClient(create_api(station, manage_lifecycle=False)) as client:
        yield Subsonic(client, station, "ann", password)


@pytest.fixture(scope="session")
def tone_albums(tmp_path_factory) -> Path:
    """Six short real MP3s on three albums by three artists; one carries a MusicBrainz id."""
    root = tmp_path_factory.mktemp("subsonic-tones")
    for n in range(6):
        tags = {
            "title": f"Tone {n}",
            "artist": f"Artist {n % 3}",
            "album": f"Album {n % 3}",
            "genre": ["jazz", "rock"][n % 2],
            "date": str(2000 + n),
        }
        if n == 0:
            tags["musicbrainz_trackid"] = MBID
        write_tone(root / f"{n}.mp3", 220 + 110 * n, 3.0, 0.3, tags)
    return root


@dataclass
class LiveSubsonic:
    url: str
    port: int
    station: QFZZStation
    user: str
    password: str


@pytest.fixture
def live_subsonic(tmp_path, tone_albums) -> Iterator[LiveSubsonic]:
    station = build_station(Settings(data_dir=tmp_path / "data", demo_library=False))
    station.start()
    station.scan(tone_albums)
    station.register_listener("ann", {}, password="pw-1234")
    password = station.accounts.app_password("ann")
    try:
        with serve_in_thread(station) as url:
            host, port = url.rsplit(":", 1)
            yield LiveSubsonic(host, int(port), station, "ann", password)
    finally:
        station.close()


@pytest.fixture
def sleeve() -> bytes:
    """The front cover embedded in one file of ``art_sub``'s album "Pictured"."""
    return SLEEVE


@pytest.fixture
def art_sub(tmp_path) -> Iterator[Subsonic]:
    """Real MP3s: album "Pictured" (only its second file carries a picture), album "Bare"."""
    import mutagen
    from mutagen.id3 import APIC

    music = tmp_path / "music"
    (music / "art").mkdir(parents=True)
    (music / "plain").mkdir()
    for n, folder, album in ((0, "art", "Pictured"), (1, "art", "Pictured"), (2, "plain", "Bare")):
        tags = {"title": f"T{n}", "artist": "Painter", "album": album, "genre": "jazz"}
        write_tone(music / folder / f"{n}.mp3", 220 + 110 * n, 1.0, 0.3, tags)
    tagged = mutagen.File(music / "art" / "1.mp3")
    tagged.tags.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="front", data=SLEEVE))
    tagged.save()
    station = build_station(Settings(data_dir=tmp_path / "data", demo_library=False))
    station.start()
    station.scan(music)
    station.register_listener("ann", {"genres": ["jazz"]}, password="pw-1234")
    password = station.accounts.app_password("ann")
    try:
        with TestClient(create_api(station, manage_lifecycle=False)) as client:
            yield Subsonic(client, station, "ann", password)
    finally:
        station.close()
