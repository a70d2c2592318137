"""Helpers for tests of QFZZ and of code built on it (shipped, beets-style).

``FakeClock`` is the injected clock tests move by hand; ``add_synthetic_tracks`` fills a
catalog with described tracks without audio files, for DJ and API behaviour tests.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import uvicorn

from qfzz.app import build_station
from qfzz.audio import SAMPLE_RATE, encode_audio_file
from qfzz.models import ScannedFile, TrackMeta
from qfzz.settings import Settings
from qfzz.station import QFZZStation
from qfzz.store import Store

__all__ = [
    "SIX_GENRES",
    "FakeClock",
    "LiveServer",
    "SyntheticTrack",
    "add_synthetic_tracks",
    "free_port",
    "listen_in_background",
    "live_station",
    "serve_in_thread",
    "streaming_settings",
    "synthetic_station",
    "tracks_of_genre",
    "trust_counts",
    "wait_for",
    "write_tone",
    "write_tone_library",
]


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True, slots=True)
class SyntheticTrack:
    title: str
    artist: str
    genre: str
    mood: str = "calm"
    energy: float = 0.5
    tempo: float = 110.0
    album: str = "Album"


#: 72 tracks: 12 per genre, 4 artists per genre, genre-typical mood, energy and tempo.
SIX_GENRES: list[SyntheticTrack] = [
    SyntheticTrack(
        f"{genre.title()} Song {n}", f"{genre.title()} Artist {n % 4}", genre, mood, energy, tempo
    )
    for genre, mood, energy, tempo in [
        ("jazz", "calm", 0.3, 90.0),
        ("rock", "energetic", 0.8, 140.0),
        ("electronic", "happy", 0.7, 128.0),
        ("classical", "calm", 0.2, 70.0),
        ("blues", "sad", 0.4, 85.0),
        ("metal", "dark", 0.95, 170.0),
    ]
    for n in range(12)
]


def add_synthetic_tracks(
    store: Store, tracks: Sequence[SyntheticTrack], *, now: float = 0.0, prefix: str = "/music"
) -> list[int]:
    """Catalogue tracks as if scanned (playable, with a made-up path)."""
    files = [
        ScannedFile(
            path=f"{prefix}/{i:06d} {t.artist} - {t.title}.mp3",
            size=1000 + i,
            mtime=now,
            meta=TrackMeta(
                title=t.title,
                artist=t.artist,
                album=t.album,
                genre=t.genre,
                year=2020,
                mood=t.mood,
                energy=t.energy,
                tempo=t.tempo,
                duration=30.0,
                bitrate=192,
                format="mp3",
            ),
            content_id=f"{i:064x}",
        )
        for i, t in enumerate(tracks)
    ]
    return store.tracks.upsert_files(files, now=now)


def tracks_of_genre(station: QFZZStation, genre: str, limit: int = 100) -> list[int]:
    """Ids of the catalog's tracks of one genre (at most ``limit``)."""
    return [track.track_id for track in station.search_tracks(genre=genre, limit=limit)[1]]


def trust_counts(station: QFZZStation, track_id: int) -> tuple[int, int]:
    """A track's trust record as ``(verifications, reports)``."""
    track = station.track(track_id)
    record = station.trust(track.content_id or "", track.creator_id or "")
    return record.verifications, record.reports


def write_tone(
    path: Path, freq: float, seconds: float, amp: float, tags: dict[str, str] | None = None
) -> None:
    """A short real audio file (a sine tone), tagged when it is an MP3 or FLAC."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    wave = (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    encode_audio_file(np.stack([wave, wave]), SAMPLE_RATE, path, bitrate_kbps=96)
    if tags and path.suffix in (".mp3", ".flac"):
        import mutagen

        audio = mutagen.File(path, easy=True)
        if audio.tags is None:
            audio.add_tags()
        audio.update(tags)
        audio.save()


def free_port() -> int:
    """A TCP port nobody listens on right now (for servers started by tests)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_in_thread(station: QFZZStation) -> Iterator[str]:
    """The station's HTTP API on a real port (for real players: ffmpeg, browsers, apps).

    Yields the base URL; the server stops when the block ends (the station stays open).
    """
    from qfzz.api import create_api  # only tests that serve HTTP pay for the import
    from qfzz.app import server_options

    port = free_port()
    options = {**server_options(station.settings), "host": "127.0.0.1", "port": port}
    config = uvicorn.Config(create_api(station, manage_lifecycle=False), **options, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@dataclass
class LiveServer:
    url: str
    station: QFZZStation

    def sign_in(self, user_id: str = "ann", **preferences: object) -> tuple[dict[str, str], str]:
        """Register ``user_id`` if needed; returns bearer headers and a stream token."""
        if self.station.listener(user_id) is None:
            self.station.register_listener(user_id, preferences, password="pw-1234")
        token = self.station.accounts.issue_token(user_id)
        session = self.station.accounts.authenticate(token)
        return {"Authorization": f"Bearer {token}"}, self.station.accounts.stream_token(session)


def wait_for(condition: Callable[[], object], timeout: float = 20.0) -> bool:
    """Poll ``condition`` until it holds: for work another thread or process is doing."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def listen_in_background(
    url: str,
    stop: threading.Event,
    headers: dict[str, str] | None = None,
    heard: bytearray | None = None,
) -> threading.Thread:
    """A listener that keeps reading an audio stream until ``stop`` is set (keeping what
    it received in ``heard``, if given)."""
    import httpx

    def run() -> None:
        with httpx.stream("GET", url, timeout=30, headers=headers) as response:
            if response.status_code != 200:
                raise AssertionError(f"{url} answered {response.status_code}")
            for data in response.iter_bytes():
                if heard is not None:
                    heard.extend(data)
                if stop.is_set():
                    return

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def write_tone_library(root: Path, *, tracks: int = 6, seconds: float = 4.0) -> Path:
    """Short tagged tones over two genres and three artists; loud and quiet alternate."""
    root.mkdir(parents=True, exist_ok=True)
    for n in range(tracks):
        write_tone(
            root / f"{n}.mp3",
            220 + 110 * n,
            seconds,
            0.05 if n % 2 else 0.6,
            {"title": f"Tone {n}", "artist": f"Artist {n % 3}", "genre": ["jazz", "rock"][n % 2]},
        )
    return root


def streaming_settings(data_dir: Path, *, speed: float) -> Settings:
    """Settings for stream tests: short crossfades and bursts, encoders stop at once."""
    return Settings(
        data_dir=data_dir,
        demo_library=False,
        crossfade_seconds=0.5,
        burst_seconds=1.0,
        encoder_idle_seconds=0.0,
        stream_speed=speed,
        stream_buffer_seconds=8.0,
    )


@contextmanager
def synthetic_station(
    settings: Settings,
    *,
    clock: Callable[[], float] = time.time,
    store: Store | None = None,
    tracks: Sequence[SyntheticTrack] = SIX_GENRES,
) -> Iterator[QFZZStation]:
    """A started station (built as ``qfzz serve`` builds it) whose catalog holds ``tracks``
    without audio files; closed when the block ends."""
    station = build_station(settings, store=store, clock=clock)
    try:
        add_synthetic_tracks(station.parts.store, tracks, now=clock())
        station.start()
        yield station
    finally:
        station.close()


@contextmanager
def live_station(settings: Settings, library: Path) -> Iterator[LiveServer]:
    """A started station over ``library``, served over HTTP; closed afterwards."""
    station = build_station(settings)
    station.start()
    station.scan(library)
    try:
        with serve_in_thread(station) as url:
            yield LiveServer(url, station)
    finally:
        station.close()
