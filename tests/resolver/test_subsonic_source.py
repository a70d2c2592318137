"""The Subsonic source against a real QFZZ server (HTTP on a real port, real MP3 files),
and against a local HTTP server that answers what a broken server would."""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from qfzz.app import build_station
from qfzz.errors import InvalidInput
from qfzz.resolver import (
    HIGH_CONFIDENCE,
    Candidate,
    Source,
    SourceFailed,
    SubsonicSource,
    Wanted,
)
from qfzz.settings import Settings
from qfzz.station import QFZZStation
from qfzz.testing import free_port, serve_in_thread, write_tone


@pytest.fixture(scope="module")
def tones(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four tagged 3-second MP3s by two artists."""
    root = tmp_path_factory.mktemp("resolver-tones")
    for n in range(4):
        tags = {"title": f"Tone {n}", "artist": f"Artist {n % 2}", "album": "Tones"}
        write_tone(root / f"{n}.mp3", 220 + 110 * n, 3.0, 0.3, tags)
    return root


@dataclass
class Server:
    url: str
    station: QFZZStation
    user: str
    password: str
    tones: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tones: Path) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("resolver-server")
    station = build_station(Settings(data_dir=data, demo_library=False))
    station.start()
    try:
        station.scan(tones)
        station.register_listener("ann", {}, password="pw-1234")
        password = station.accounts.app_password("ann")
        with serve_in_thread(station) as url:
            yield Server(url, station, "ann", password, tones)
    finally:
        station.close()


@pytest.fixture
def source(server: Server) -> Iterator[SubsonicSource]:
    made = SubsonicSource("b", server.url + "/", server.user, server.password, timeout=10.0)
    yield made
    made.close()


TONE_1 = Wanted(1, "Tone 1", "Artist 1", duration=3.0, origin="b")


def test_search_finds_the_track_and_download_writes_its_file(
    source: SubsonicSource, server: Server, tmp_path: Path
) -> None:
    assert isinstance(source, Source) and source.name == "b"
    found = source.search(TONE_1)
    assert found, "QFZZ matches a substring of one field: the title-only query finds it"
    best = found[0]
    assert (best.title, best.artist, best.suffix) == ("Tone 1", "Artist 1", ".mp3")
    assert best.confidence >= HIGH_CONFIDENCE and best.source == "b"
    assert all(c.title != "Tone 0" for c in found)  # other songs score 0 or are not found
    target = tmp_path / "resolved.mp3"
    source.download(best, target, max_bytes=10 << 20)
    assert target.read_bytes() == (server.tones / "1.mp3").read_bytes()


def test_refresh_looks_the_song_up_by_its_id(source: SubsonicSource) -> None:
    best = source.search(TONE_1)[0]
    again = source.refresh(Wanted(1, "Tone 1", "Artist 1", 3.0, origin="b", origin_ref=best.ref))
    assert again == best
    assert source.refresh(Wanted(1, "Tone 1", "Artist 1", 3.0, origin_ref="tr-999999")) is None
    assert source.refresh(Wanted(1, "Tone 1", "Artist 1", 3.0, origin_ref="https://x/y z")) is None
    assert source.refresh(Wanted(1, "Tone 1", "Artist 1", 3.0)) is None


def test_a_track_the_server_does_not_hold_finds_nothing(source: SubsonicSource) -> None:
    assert source.search(Wanted(1, "Hey Jude", "The Beatles", 431.0)) == []
    # The title exists, by another artist and of another length: not a match.
    assert source.search(Wanted(1, "Tone 2", "Wilson Pickett", 245.0)) == []


def test_a_wrong_password_fails(server: Server) -> None:
    wrong = SubsonicSource("b", server.url, server.user, "not-the-password")
    with pytest.raises(SourceFailed, match="error 40"):
        wrong.search(TONE_1)
    wrong.close()


def test_a_download_as_another_user_is_refused(
    source: SubsonicSource, server: Server, tmp_path: Path
) -> None:
    best = source.search(TONE_1)[0]
    wrong = SubsonicSource("b", server.url, server.user, "not-the-password")
    with pytest.raises(SourceFailed, match="not audio"):  # an error document, status 200
        wrong.download(best, tmp_path / "x.mp3", max_bytes=10 << 20)
    wrong.close()


def test_an_unknown_song_cannot_be_downloaded(source: SubsonicSource, tmp_path: Path) -> None:
    ghost = Candidate("b", "tr-999999", "Ghost", "Nobody", None, 1.0)
    with pytest.raises(SourceFailed):
        source.download(ghost, tmp_path / "ghost.mp3", max_bytes=10 << 20)


def test_a_nonexistent_server_fails() -> None:
    gone = SubsonicSource("gone", f"http://127.0.0.1:{free_port()}", "ann", "pw", timeout=2.0)
    with pytest.raises(SourceFailed, match="ConnectError"):
        gone.search(TONE_1)
    gone.close()


def test_max_bytes_exceeded_fails_and_leaves_the_part_to_the_caller(
    source: SubsonicSource, tmp_path: Path
) -> None:
    best = source.search(TONE_1)[0]
    target = tmp_path / "part.mp3"
    with pytest.raises(SourceFailed, match="limit 1000"):
        source.download(best, target, max_bytes=1000)
    # QFZZ declares the length: refused before a byte is written (see the broken server
    # below for a part counted while reading).
    assert not target.exists() or target.stat().st_size <= 1000


def test_a_handed_in_client_is_used_and_not_closed(server: Server) -> None:
    with httpx.Client(timeout=10.0) as client:
        first = SubsonicSource("b", server.url, server.user, server.password, client=client)
        assert first.search(TONE_1)
        first.close()
        assert not client.is_closed


def test_repr_never_shows_the_password(server: Server) -> None:
    made = SubsonicSource("b", server.url, server.user, server.password)
    assert server.password not in repr(made)
    made.close()


@pytest.mark.parametrize(
    ("name", "url", "user"),
    [("", "http://x", "ann"), ("b", "ftp://x", "ann"), ("b", "x", "ann"), ("b", "http://x", "")],
)
def test_bad_configuration_is_refused(name: str, url: str, user: str) -> None:
    with pytest.raises(InvalidInput):
        SubsonicSource(name, url, user, "pw")


# -- a broken server ------------------------------------------------------------------------


ASKED: list[dict[str, list[str]]] = []


@pytest.fixture
def broken() -> Iterator[tuple[str, dict[str, tuple[int, str, bytes, bool]]]]:
    """A server answering ``answers[method] = (status, content type, body, declared)``;
    the parameters of every request land in ``ASKED``."""
    answers: dict[str, tuple[int, str, bytes, bool]] = {}
    ASKED.clear()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            ASKED.append(parse_qs(parts.query))
            method = parts.path.removeprefix("/rest/")
            status, kind, body, declared = answers.get(method, (404, "text/plain", b"", True))
            self.send_response(status)
            self.send_header("Content-Type", kind)
            if declared:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", answers
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def envelope(**body: object) -> bytes:
    return json.dumps({"subsonic-response": {"status": "ok", "version": "1.16.1", **body}}).encode()


def song(**extra: object) -> dict[str, object]:
    return {"id": "s1", "title": "Tone 1", "artist": "Artist 1", "duration": 3, **extra}


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ((200, "text/html", b"<html>nginx</html>", True), "did not answer JSON"),
        ((502, "text/html", b"bad gateway", True), "HTTP 502"),
        ((200, "application/json", b'{"hello": 1}', True), "not answer a Subsonic document"),
        ((200, "application/json", b"[1, 2]", True), "not answer a Subsonic document"),
        ((200, "application/json", envelope(status="maybe"), True), "status 'maybe'"),
        (
            (
                200,
                "application/json",
                json.dumps(
                    {"subsonic-response": {"status": "failed", "error": {"code": 50}}}
                ).encode(),
                True,
            ),
            "error 50",
        ),
        ((200, "application/json", envelope(searchResult3=[1]), True), "searchResult3"),
        ((200, "application/json", envelope(searchResult3={"song": 3}), True), "not a list"),
        (
            (200, "application/json", envelope(searchResult3={"song": [{"id": 1}]}), True),
            "without id or title",
        ),
        (
            (200, "application/json", envelope(searchResult3={"song": [song(id=None)]}), True),
            "without id or title",
        ),
        ((200, "application/json", b'{"x": "' + b"a" * 3_000_000 + b'"}', True), "limit"),
        ((200, "application/json", b'{"x": "' + b"a" * 3_000_000 + b'"}', False), "more than"),
    ],
)
def test_garbage_from_a_server_fails(broken, answer, message: str) -> None:
    url, answers = broken
    answers["search3"] = answer
    made = SubsonicSource("bad", url, "ann", "pw")
    with pytest.raises(SourceFailed, match=message):
        made.search(TONE_1)
    made.close()


def test_songs_are_read_defensively(broken) -> None:
    url, answers = broken
    songs = [
        song(id=17, duration="3", suffix="../../etc"),  # numeric id, text duration, bad suffix
        song(id="s2", duration=True, suffix="FLAC"),  # a boolean is not a duration
        song(id="s3", isVideo=True),
        "not a song",
    ]
    answers["search3"] = (200, "application/json", envelope(searchResult3={"song": songs}), True)
    made = SubsonicSource("odd", url, "ann", "pw")
    found = made.search(TONE_1)
    assert [(c.ref, c.duration, c.suffix) for c in found] == [
        ("17", 3.0, ".mp3"),
        ("s2", None, ".flac"),
    ]
    assert found[0].confidence >= HIGH_CONFIDENCE > found[1].confidence
    made.close()


def test_every_request_signs_with_a_fresh_salted_token(broken) -> None:
    url, answers = broken
    answers["search3"] = (200, "application/json", envelope(searchResult3={}), True)
    made = SubsonicSource("odd", url, "ann", "secret")
    assert made.search(TONE_1) == []
    made.close()
    assert len(ASKED) == 2  # "title artist", then the title alone
    assert [a["query"] for a in ASKED] == [["Tone 1 Artist 1"], ["Tone 1"]]
    salts = set()
    for asked in ASKED:
        assert "p" not in asked
        assert asked["u"] == ["ann"] and asked["v"] == ["1.16.1"] and asked["c"] == ["qfzz"]
        assert asked["f"] == ["json"] and asked["artistCount"] == asked["albumCount"] == ["0"]
        (salt,) = asked["s"]
        expected = hashlib.md5(("secret" + salt).encode()).hexdigest()
        assert asked["t"] == [expected]
        salts.add(salt)
    assert len(salts) == 2


def test_a_lone_song_object_is_read_as_a_list(broken) -> None:
    url, answers = broken
    answers["search3"] = (200, "application/json", envelope(searchResult3={"song": song()}), True)
    made = SubsonicSource("odd", url, "ann", "pw")
    assert [c.ref for c in made.search(TONE_1)] == ["s1"]
    made.close()


def test_a_download_counts_bytes_when_no_length_is_declared(broken, tmp_path: Path) -> None:
    url, answers = broken
    answers["download"] = (200, "audio/mpeg", b"x" * 200_000, False)
    made = SubsonicSource("odd", url, "ann", "pw")
    candidate = Candidate("odd", "s1", "Tone 1", "Artist 1", 3.0, 1.0)
    with pytest.raises(SourceFailed, match="more than 100000 B"):
        made.download(candidate, tmp_path / "x.mp3", max_bytes=100_000)
    made.download(candidate, tmp_path / "y.mp3", max_bytes=300_000)
    assert (tmp_path / "y.mp3").read_bytes() == b"x" * 200_000
    made.close()
