"""The mock, local and HTTP JSON sources; the HTTP one against a real local HTTP server."""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from qfzz.errors import InvalidInput
from qfzz.resolver import (
    ACCEPTABLE,
    HIGH_CONFIDENCE,
    Candidate,
    HttpJsonSource,
    LocalFile,
    LocalSource,
    MockSource,
    MockTrack,
    Source,
    SourceFailed,
    Wanted,
)
from qfzz.testing import FakeClock, write_tone

HEY_JUDE = Wanted(1, "Hey Jude", "The Beatles", duration=431.0, origin="mock", origin_ref="j1")
AUDIO = b"ID3" + bytes(range(256)) * 40


# -- MockSource ---------------------------------------------------------------------------


def test_mock_source_is_a_source_and_answers_from_its_tracks(tmp_path: Path) -> None:
    source = MockSource(
        "mock",
        [
            ("Hey Jude - Remastered 2015", "The Beatles", 431.0, AUDIO),
            ("Let It Be", "The Beatles", 243.0, b"other"),
            MockTrack("Hey Jude", "Wilson Pickett", 245.0, b"cover"),
        ],
    )
    assert isinstance(source, Source)
    found = source.search(HEY_JUDE)
    assert [c.title for c in found] == ["Hey Jude - Remastered 2015"]  # the cover scores 0
    assert found[0].confidence >= HIGH_CONFIDENCE
    source.download(found[0], tmp_path / "out.mp3", max_bytes=1 << 20)
    assert (tmp_path / "out.mp3").read_bytes() == AUDIO
    assert source.calls == [("search", "Hey Jude"), ("download", "0")]


def test_mock_source_drops_what_does_not_match_at_all() -> None:
    source = MockSource("mock", [("Hey Jude", "Wilson Pickett", 245.0, b"cover")])
    assert source.search(HEY_JUDE) == []  # another duration: score 0


def test_mock_source_refreshes_by_reference_and_copies_files(tmp_path: Path) -> None:
    original = tmp_path / "jude.mp3"
    original.write_bytes(AUDIO)
    source = MockSource("mock", [MockTrack("Hey Jude", "The Beatles", 431.0, original, ref="j1")])
    found = source.refresh(HEY_JUDE)
    assert found is not None and found.ref == "j1"
    assert source.refresh(Wanted(2, "x", "y", origin_ref="nope")) is None
    source.download(found, tmp_path / "copy.mp3", max_bytes=1 << 20)
    assert (tmp_path / "copy.mp3").read_bytes() == AUDIO


@pytest.mark.parametrize("operation", ["refresh", "search", "download"])
def test_mock_source_fails_when_told(operation: str, tmp_path: Path) -> None:
    jude = MockTrack("Hey Jude", "The Beatles", 431.0, AUDIO, ref="j1")
    source = MockSource("mock", [jude], fail=[operation])
    candidate = MockSource("mock", [jude]).search(HEY_JUDE)[0]
    calls = {
        "refresh": lambda: source.refresh(HEY_JUDE),
        "search": lambda: source.search(HEY_JUDE),
        "download": lambda: source.download(candidate, tmp_path / "x", max_bytes=1 << 20),
    }
    for name, call in calls.items():
        if name == operation:
            with pytest.raises(SourceFailed):
                call()
        else:
            call()
    source.fail = True
    with pytest.raises(SourceFailed):
        source.search(HEY_JUDE)
    source.fail = False
    assert source.search(HEY_JUDE)


def test_mock_source_serves_garbage_when_told(tmp_path: Path) -> None:
    source = MockSource("mock", [("Hey Jude", "The Beatles", 431.0, AUDIO)], garbage=True)
    source.download(source.search(HEY_JUDE)[0], tmp_path / "x.mp3", max_bytes=1 << 20)
    assert (tmp_path / "x.mp3").read_bytes() != AUDIO
    assert not (tmp_path / "x.mp3").read_bytes().startswith(b"ID3")


def test_mock_source_takes_simulated_time_and_times_out() -> None:
    clock = FakeClock(0.0)
    source = MockSource(
        "slow", [("Hey Jude", "The Beatles", 431.0, AUDIO)], latency=2.5, sleep=clock.advance
    )
    source.search(HEY_JUDE)
    source.search(HEY_JUDE)
    assert clock() == 5.0
    source.timeout = 1.0
    with pytest.raises(SourceFailed, match="timed out"):
        source.search(HEY_JUDE)
    assert clock() == 6.0  # a timeout costs the timeout, not the latency


def test_mock_source_refuses_latency_without_a_fake_sleep() -> None:
    with pytest.raises(ValueError, match="sleep"):
        MockSource("slow", latency=1.0)
    with pytest.raises(ValueError, match="operations"):
        MockSource("x", fail=["serch"])


def test_mock_source_enforces_max_bytes_leaving_the_part(tmp_path: Path) -> None:
    source = MockSource("mock", [("Hey Jude", "The Beatles", 431.0, AUDIO)])
    with pytest.raises(SourceFailed, match="over"):
        source.download(source.search(HEY_JUDE)[0], tmp_path / "x", max_bytes=100)
    assert (tmp_path / "x").stat().st_size == 100  # the caller removes it


def test_mock_source_confidence_can_be_set() -> None:
    source = MockSource("sim", [MockTrack("anything", "anyone", None, b"x", confidence=0.8)])
    assert source.search(HEY_JUDE)[0].confidence == 0.8


# -- LocalSource --------------------------------------------------------------------------


@pytest.fixture
def library(tmp_path: Path) -> list[LocalFile]:
    folder = tmp_path / "library"
    folder.mkdir()
    files = []
    for name, title, artist, duration in [
        ("jude.MP3", "Hey Jude (Remastered 2015)", "Beatles", 430.0),
        ("jude-live.mp3", "Hey Jude [Live]", "The Beatles", 520.0),
        ("cover.mp3", "Hey Jude", "Wilson Pickett", 431.0),
        ("let.flac", "Let It Be", "The Beatles", 243.0),
    ]:
        (folder / name).write_bytes(name.encode() * 100)
        files.append(LocalFile(folder / name, title, artist, duration))
    return files


def test_local_source_matches_title_artist_and_duration(
    library: list[LocalFile], tmp_path: Path
) -> None:
    asked: list[tuple[str, str]] = []

    def lookup(title: str, artist: str) -> list[LocalFile]:
        asked.append((title, artist))
        return library

    source = LocalSource(lookup)
    assert isinstance(source, Source) and source.name == "local"
    found = source.search(HEY_JUDE)
    assert asked == [("Hey Jude", "The Beatles")]
    assert [Path(c.ref).name for c in found] == ["jude.MP3"]  # not the live edit, not the cover
    assert found[0].suffix == ".mp3" and found[0].confidence >= HIGH_CONFIDENCE
    assert source.refresh(HEY_JUDE) is None


def test_local_source_copies_an_independent_file(library: list[LocalFile], tmp_path: Path) -> None:
    source = LocalSource(lambda title, artist: library)
    candidate = source.search(HEY_JUDE)[0]
    target = tmp_path / "resolved.mp3"
    source.download(candidate, target, max_bytes=1 << 20)
    original = Path(candidate.ref)
    assert target.read_bytes() == original.read_bytes()
    assert target.stat().st_ino != original.stat().st_ino  # a copy, not a hard link
    original.write_bytes(b"changed")
    assert target.read_bytes() != b"changed"


def test_local_source_enforces_max_bytes(library: list[LocalFile], tmp_path: Path) -> None:
    source = LocalSource(lambda title, artist: library)
    with pytest.raises(SourceFailed, match="over 10 B"):
        source.download(source.search(HEY_JUDE)[0], tmp_path / "x.mp3", max_bytes=10)


def test_local_source_turns_a_vanished_file_into_a_failure(
    library: list[LocalFile], tmp_path: Path
) -> None:
    source = LocalSource(lambda title, artist: library)
    candidate = source.search(HEY_JUDE)[0]
    Path(candidate.ref).unlink()
    with pytest.raises(SourceFailed, match="cannot copy"):
        source.download(candidate, tmp_path / "x.mp3", max_bytes=1 << 20)


def test_local_source_turns_a_failing_lookup_into_a_failure() -> None:
    def broken(title: str, artist: str) -> list[LocalFile]:
        raise OSError("disk gone")

    with pytest.raises(SourceFailed, match="disk gone"):
        LocalSource(broken).search(HEY_JUDE)


# -- HttpJsonSource against a real HTTP server --------------------------------------------


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    length: bool = True  # send Content-Length (else the body ends when the connection does)


@dataclass
class Catalogue:
    """A tiny HTTP server: exact paths to canned answers, and the queries it was asked."""

    url: str
    routes: dict[str, Route] = field(default_factory=dict)
    queries: list[str] = field(default_factory=list)

    def json(self, path: str, document: object) -> None:
        self.routes[path] = Route(body=json.dumps(document).encode())


@pytest.fixture
def catalogue() -> Iterator[Catalogue]:
    routes: dict[str, Route] = {}
    queries: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            queries.extend(parse_qs(parts.query).get("q", []))
            route = routes.get(parts.path, Route(404, b"{}"))
            self.send_response(route.status)
            self.send_header("Content-Type", route.content_type)
            if route.length:
                self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            with contextlib.suppress(OSError):  # the client stopped reading (a refused download)
                self.wfile.write(route.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield Catalogue(f"http://127.0.0.1:{server.server_address[1]}", routes, queries)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


FIELDS = {
    "title": "name",
    "artist": "artist.name",
    "duration": "length_ms",
    "download_url": "files.audio",
    "id": "id",
    "fingerprint": "chromaprint",
    "suffix": "format",
}


def make_source(catalogue: Catalogue, **options: object) -> HttpJsonSource:
    return HttpJsonSource(
        "free",
        catalogue.url + "/api/tracks?q={query}&limit=5",
        FIELDS,
        results="data.items",
        refresh_url_template=catalogue.url + "/api/lookup?id={ref}",
        duration_scale=0.001,
        **options,  # type: ignore[arg-type]
    )


def item(catalogue: Catalogue, n: int, title: str, artist: str, ms: int | None) -> dict:
    return {
        "id": n,
        "name": title,
        "artist": {"name": artist},
        "length_ms": ms,
        "files": {"audio": f"{catalogue.url}/files/{n}"},
        "chromaprint": f"AQAA{n}",
        "format": "ogg",
    }


@pytest.fixture
def tone(tmp_path: Path) -> bytes:
    path = tmp_path / "tone.ogg"
    write_tone(path, 440, 1.0, 0.3)
    return path.read_bytes()


def test_http_source_searches_maps_fields_and_downloads(
    catalogue: Catalogue, tone: bytes, tmp_path: Path
) -> None:
    catalogue.json(
        "/api/tracks",
        {
            "data": {
                "items": [
                    item(catalogue, 1, "Hey Jude (Live)", "Beatles", 520_000),
                    item(catalogue, 2, "Hey Jude", "The Beatles", 431_500),
                    {"name": "Hey Jude", "artist": {"name": "The Beatles"}},  # no file: skipped
                ]
            }
        },
    )
    catalogue.routes["/files/2"] = Route(body=tone, content_type="audio/ogg")
    source = make_source(catalogue)
    found = source.search(Wanted(1, "Hey Jude (Remastered)", "The Beatles feat. X", 431.0))
    assert catalogue.queries == ["Hey Jude The Beatles"]  # versions and guests left out
    assert [c.ref for c in found] == [f"{catalogue.url}/files/2"]
    (best,) = found
    assert best.duration == 431.5 and best.suffix == ".ogg" and best.fingerprint == "AQAA2"
    assert best.confidence >= HIGH_CONFIDENCE and best.source == "free"
    source.download(best, tmp_path / "got.ogg", max_bytes=1 << 20)
    assert (tmp_path / "got.ogg").read_bytes() == tone


def test_http_source_refreshes_by_id(catalogue: Catalogue) -> None:
    catalogue.json(
        "/api/lookup",
        {"data": {"items": [item(catalogue, 7, "Hey Jude", "The Beatles", 431_000)]}},
    )
    source = make_source(catalogue)
    found = source.refresh(Wanted(1, "Hey Jude", "The Beatles", 431.0, origin_ref="7"))
    assert found is not None and found.ref.endswith("/files/7")
    assert source.refresh(Wanted(1, "Hey Jude", "The Beatles", 431.0, origin_ref="8")) is None
    assert source.refresh(Wanted(1, "Hey Jude", "The Beatles", 431.0)) is None
    del catalogue.routes["/api/lookup"]  # now a 404
    assert source.refresh(Wanted(1, "Hey Jude", "The Beatles", 431.0, origin_ref="7")) is None
    catalogue.routes["/api/lookup"] = Route(500, b"{}")
    with pytest.raises(SourceFailed, match="HTTP 500"):
        source.refresh(Wanted(1, "Hey Jude", "The Beatles", 431.0, origin_ref="7"))


def test_http_source_with_nothing_found_answers_nothing(catalogue: Catalogue) -> None:
    catalogue.json("/api/tracks", {"data": {"items": []}})
    assert make_source(catalogue).search(HEY_JUDE) == []


@pytest.mark.parametrize(
    ("route", "message"),
    [
        (Route(body=b"<html>hello</html>", content_type="text/html"), "did not answer JSON"),
        (Route(body=b'{"data": {"items": "many"}}'), "no list"),
        (Route(body=b'{"data": [1, 2, 3]}'), "no list"),
        (Route(body=b'{"data": {"items": [1, "two", null, {"name": 3}]}}'), "none usable"),
        (Route(body=b"[" * 100_000 + b"]" * 100_000), "did not answer JSON"),
        (Route(body=b'{"data": {"items": [' + b"0," * 2_000_000 + b"0]}}"), "limit 2097152"),
        (
            Route(body=b'{"data": {"items": [' + b"0," * 2_000_000 + b"0]}}", length=False),
            "more than",
        ),
        (Route(500, b'{"error": "boom"}'), "HTTP 500"),
        (Route(body=json.dumps({"data": {"items": [0] * 500}}).encode()), "limit 200"),
    ],
)
def test_http_source_refuses_garbage(catalogue: Catalogue, route: Route, message: str) -> None:
    catalogue.routes["/api/tracks"] = route
    with pytest.raises(SourceFailed, match=message):
        make_source(catalogue).search(HEY_JUDE)


def test_http_source_skips_items_with_non_http_download_urls(catalogue: Catalogue) -> None:
    good = item(catalogue, 2, "Hey Jude", "The Beatles", 431_000)
    bad = {**good, "files": {"audio": "file:///etc/passwd"}}
    catalogue.json("/api/tracks", {"data": {"items": [bad, good]}})
    source = make_source(catalogue)
    assert [c.ref for c in source.search(HEY_JUDE)] == [good["files"]["audio"]]
    forged = Candidate("free", "file:///etc/passwd", "Hey Jude", "The Beatles", 431.0, 1.0)
    with pytest.raises(SourceFailed, match="http"):
        source.download(forged, Path("/nonexistent/never"), max_bytes=1 << 20)


def test_http_source_enforces_max_bytes_while_reading(catalogue: Catalogue, tmp_path: Path) -> None:
    catalogue.json(
        "/api/tracks", {"data": {"items": [item(catalogue, 2, "Hey Jude", "The Beatles", None)]}}
    )
    catalogue.routes["/files/2"] = Route(body=b"x" * 300_000, content_type="audio/mpeg")
    source = make_source(catalogue)
    (candidate,) = source.search(HEY_JUDE)
    assert ACCEPTABLE <= candidate.confidence < HIGH_CONFIDENCE  # no duration to confirm
    with pytest.raises(SourceFailed, match="limit 1000"):  # by the declared length
        source.download(candidate, tmp_path / "a.mp3", max_bytes=1000)
    catalogue.routes["/files/2"] = Route(
        body=b"x" * 300_000, content_type="audio/mpeg", length=False
    )
    with pytest.raises(SourceFailed, match="more than 100000 B"):  # by counting
        source.download(candidate, tmp_path / "b.mp3", max_bytes=100_000)
    assert (tmp_path / "b.mp3").stat().st_size <= 100_000  # the part is the caller's to remove


def test_http_source_refuses_documents_and_errors_as_downloads(
    catalogue: Catalogue, tmp_path: Path
) -> None:
    catalogue.json(
        "/api/tracks", {"data": {"items": [item(catalogue, 2, "Hey Jude", "The Beatles", None)]}}
    )
    source = make_source(catalogue)
    (candidate,) = source.search(HEY_JUDE)
    catalogue.routes["/files/2"] = Route(body=b"<html>login</html>", content_type="text/html")
    with pytest.raises(SourceFailed, match="not audio"):
        source.download(candidate, tmp_path / "a.mp3", max_bytes=1 << 20)
    catalogue.routes["/files/2"] = Route(403, b"no")
    with pytest.raises(SourceFailed, match="HTTP 403"):
        source.download(candidate, tmp_path / "a.mp3", max_bytes=1 << 20)
    catalogue.routes["/files/2"] = Route(body=b"", content_type="audio/mpeg")
    with pytest.raises(SourceFailed, match="empty"):
        source.download(candidate, tmp_path / "a.mp3", max_bytes=1 << 20)


def test_http_source_bounds_a_whole_download_by_its_clock(
    catalogue: Catalogue, tmp_path: Path
) -> None:
    ticks = itertools.count()  # every look at the clock is one more second
    catalogue.json(
        "/api/tracks", {"data": {"items": [item(catalogue, 2, "Hey Jude", "The Beatles", None)]}}
    )
    catalogue.routes["/files/2"] = Route(body=b"x" * 1_000_000, content_type="audio/mpeg")
    source = make_source(catalogue, clock=lambda: float(next(ticks)), download_seconds=5)
    (candidate,) = source.search(HEY_JUDE)
    with pytest.raises(SourceFailed, match="took more than 5 s"):
        source.download(candidate, tmp_path / "a.mp3", max_bytes=1 << 30)


def test_http_source_turns_an_unreachable_server_into_a_failure(tmp_path: Path) -> None:
    from qfzz.testing import free_port

    source = HttpJsonSource(
        "gone", f"http://127.0.0.1:{free_port()}/?q={{query}}", FIELDS, timeout=2.0
    )
    with pytest.raises(SourceFailed, match="ConnectError"):
        source.search(HEY_JUDE)
    source.close()


@pytest.mark.parametrize(
    ("template", "fields"),
    [
        ("https://api.example.org/tracks", FIELDS),  # no {query}
        ("ftp://api.example.org/?q={query}", FIELDS),
        ("https://api.example.org/?q={query}", {"title": "t", "artist": "a"}),
        ("https://api.example.org/?q={query}", {**FIELDS, "lyrics": "l"}),
        ("https://api.example.org/?q={query}", {**FIELDS, "title": ""}),
    ],
)
def test_http_source_refuses_bad_configuration(template: str, fields: dict[str, str]) -> None:
    with pytest.raises(InvalidInput):
        HttpJsonSource("bad", template, fields)


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:6379/",  # the station's own Redis, by name
        "http://127.0.0.2/x.mp3",  # another loopback address
        "http://10.0.0.1/x.mp3",  # the operator's network
        "http://169.254.169.254/latest/meta-data/",  # a cloud's metadata service
        "http://[::1]:5432/",
    ],
)
def test_http_source_never_fetches_from_private_addresses_a_catalogue_names(
    catalogue: Catalogue, url: str, tmp_path: Path
) -> None:
    source = make_source(catalogue)  # the catalogue itself is on 127.0.0.1: configured, trusted
    forged = Candidate("free", url, "Hey Jude", "The Beatles", 431.0, 1.0)
    with pytest.raises(SourceFailed, match=r"not a public address|cannot resolve"):
        source.download(forged, tmp_path / "x.mp3", max_bytes=1 << 20)
    assert not (tmp_path / "x.mp3").exists()
