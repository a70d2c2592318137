"""Helpers for tests of QFZZ and of code built on it (shipped, beets-style).

``FakeClock`` is the injected clock tests move by hand; ``SimulatedClock`` is the clock
streaming tests run on (virtual time that passes as fast as the mounts can use it);
``add_synthetic_tracks`` fills a catalog with described tracks without audio files, for DJ
and API behaviour tests.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import uvicorn

from qfzz.app import build_station
from qfzz.audio import SAMPLE_RATE, encode_audio_file
from qfzz.broadcast import Alarm
from qfzz.models import ScannedFile, TrackMeta
from qfzz.settings import Settings
from qfzz.station import QFZZStation
from qfzz.store import Store

__all__ = [
    "SIX_GENRES",
    "FakeClock",
    "LiveServer",
    "ServeProcess",
    "SimulatedClock",
    "SyntheticTrack",
    "add_synthetic_tracks",
    "ffmpeg_decoded_seconds",
    "free_port",
    "listen_in_background",
    "live_station",
    "mounts_drained",
    "serve_in_thread",
    "simulated_station",
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


class SimulatedClock:
    """Virtual time for everything that waits on a clock (a ``qfzz.broadcast.Clock``).

    Reading the clock never moves it, and a wait blocks until virtual time reaches its
    deadline (or its alarm rings) — no real time is waited out, and none is measured.
    Time moves forward only: by hand (``advance``), and, once ``auto_advance`` is given a
    ``settled`` predicate, on its own — whenever nothing is left to consume (every stage
    of every mount drained, say), it jumps to the earliest deadline anyone waits for.

    So a station streams as fast as the CPU can encode, yet no reader ever falls out of
    a ring because the producer outran it: a listener on HTTP that reads slowly holds
    time back instead of being dropped, and what a test sees follows from the order of
    events, not from how fast this machine happens to be.
    """

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = start
        self._cond = threading.Condition()
        self._deadlines: dict[object, float] = {}  # one per waiting thread
        self._closed = False
        self._driver: threading.Thread | None = None
        self._paused = False
        self._pause_when: Callable[[], object] | None = None
        self._reached = threading.Event()

    def __call__(self) -> float:
        return self._now

    def wait_until(self, deadline: float, alarm: Alarm) -> bool:
        """Block until virtual time reaches ``deadline``; True if ``alarm`` ended it."""
        remove = alarm.on_set(self._wake_all)
        token = object()
        try:
            with self._cond:
                self._deadlines[token] = deadline
                self._cond.notify_all()  # a new deadline: the driver may have one to jump to
                try:
                    while self._now < deadline and not alarm.is_set():
                        self._cond.wait()
                finally:
                    del self._deadlines[token]
                return alarm.is_set()
        finally:
            remove()

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of virtual time pass (never backwards)."""
        self.advance_to(self._now + max(0.0, seconds))

    def advance_to(self, when: float) -> None:
        with self._cond:
            if when > self._now:
                self._now = when
                self._cond.notify_all()

    def waiting(self) -> list[float]:
        """The deadlines threads are waiting for now, earliest first."""
        with self._cond:
            return sorted(self._deadlines.values())

    def auto_advance(self, settled: Callable[[], bool]) -> None:
        """From now on, jump to the earliest pending deadline whenever ``settled()``."""
        with self._cond:
            if self._driver is not None:
                raise RuntimeError("this clock already advances on its own")
            self._driver = threading.Thread(
                target=self._drive, args=(settled,), name="qfzz-simulated-time", daemon=True
            )
        self._driver.start()

    def pause_when(self, condition: Callable[[], object], timeout: float = 20.0) -> bool:
        """Let time run on its own until ``condition()`` holds, then hold it there
        (until ``resume``): a test acts at a known moment of the simulation, however
        long it takes in real time. False if ``condition`` did not come within
        ``timeout`` real seconds (a guard against a hang, not a measurement).

        Time may already run while the caller gets here: to pause at a moment measured
        from something the test does, hold time first (``pause_when(lambda: True)``),
        act, then call this — from a held clock the new condition takes over before
        time moves again. Or arm it before time starts (``pause_at``)."""
        self.pause_at(condition)
        return self.wait_paused(timeout)

    def pause_at(self, condition: Callable[[], object]) -> None:
        """Arm ``pause_when``'s condition without waiting (say, before ``auto_advance``
        starts time), and let a held clock run on until it holds."""
        with self._cond:
            self._reached.clear()
            self._pause_when, self._paused = condition, False
            self._cond.notify_all()

    def wait_paused(self, timeout: float = 20.0) -> bool:
        """Wait until the armed condition held and time stopped there (False after
        ``timeout`` real seconds: a guard against a hang)."""
        return self._reached.wait(timeout)

    def resume(self) -> None:
        """Let time run on its own again after ``pause_when``."""
        with self._cond:
            self._paused, self._pause_when = False, None
            self._cond.notify_all()

    def close(self) -> None:
        """Stop advancing on its own (waits already under way keep their deadlines)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            driver = self._driver
        if driver is not None and driver is not threading.current_thread():
            driver.join()

    def _wake_all(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _due_unwoken(self) -> bool:
        """Whether a waiter's deadline has come but the waiter has not yet run (it
        leaves ``_deadlines`` when it wakes): time must wait for it, or it would jump
        past whatever that waiter is about to do."""
        return any(d <= self._now for d in self._deadlines.values())

    def _next_deadline(self) -> float | None:
        later = [d for d in self._deadlines.values() if d > self._now]
        return min(later) if later else None

    def _drive(self, settled: Callable[[], bool]) -> None:
        while True:
            with self._cond:
                while not self._closed and self._next_deadline() is None:
                    self._cond.wait()
                if self._closed:
                    return
            # Whether every reader has caught up is not something anyone announces:
            # look, and look again shortly (in real time) while they are still busy.
            if self._paused:
                with self._cond:
                    self._cond.wait_for(lambda: not self._paused or self._closed)
                continue
            condition = self._pause_when
            if condition is not None and condition():
                with self._cond:
                    self._paused, self._pause_when = True, None
                self._reached.set()
                continue
            if settled():
                with self._cond:
                    target = self._next_deadline()
                    if target is not None and not self._due_unwoken():
                        self._now = target
                        self._cond.notify_all()
                        continue
            with self._cond:
                self._cond.wait(0.001)


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


def ffmpeg_decoded_seconds(data: bytes) -> float:
    """Seconds of audio the ffmpeg binary (imageio-ffmpeg's, a test dependency) decodes from
    ``data``: a real client's verdict on what a server sent; raises if it cannot decode."""
    import imageio_ffmpeg  # only the tests have it

    done = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", "pipe:0", "-f", "s16le",
         "-ac", "1", "-ar", "8000", "-"],
        input=data,
        capture_output=True,
        check=True,
        timeout=30,
    )  # fmt: skip
    return len(done.stdout) / 2 / 8000


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
    clock: SimulatedClock

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


class ServeProcess:
    """``qfzz serve`` as a real process on a free loopback port: what an operator runs,
    started without waiting (so several start at once), killed with SIGKILL as a crash."""

    def __init__(
        self,
        data_dir: Path,
        *,
        env: dict[str, str] | None = None,
        args: Sequence[str] = ("--no-demo",),
        port: int | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._env = {**os.environ, "QFZZ_LOG_LEVEL": "WARNING", **(env or {})}
        self._args = list(args)
        self.process: subprocess.Popen[bytes] | None = None
        # stderr goes to a file (a pipe nobody reads could fill and stall the server); its
        # tail is what a test shows when the server dies
        self.log = data_dir.parent / f"serve-{self.port}.log"

    def start(self) -> ServeProcess:
        command = ["serve", "--data-dir", str(self.data_dir), "--port", str(self.port)]
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "qfzz", *command, *self._args],
                env=self._env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        return self

    def healthy(self) -> bool:
        if self.process is None or self.process.poll() is not None:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise AssertionError(f"qfzz serve on {self.port} is not running:\n{tail}")
        try:
            return httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_healthy(self, timeout: float = 90.0) -> ServeProcess:
        if not wait_for(self.healthy, timeout):
            raise AssertionError(f"qfzz serve on {self.port} did not become healthy")
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


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


def streaming_settings(data_dir: Path) -> Settings:
    """Settings for stream tests: short crossfades and bursts, encoders stop at once."""
    return Settings(
        data_dir=data_dir,
        demo_library=False,
        crossfade_seconds=0.5,
        burst_seconds=1.0,
        encoder_idle_seconds=0.0,
        stream_buffer_seconds=8.0,
    )


def mounts_drained(station: QFZZStation) -> bool:
    """Every stage of every mount of ``station`` has consumed all it was given."""
    return all(mount.drained() for mount in station.radio.all_mounts())


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
def simulated_station(
    settings: Settings, library: Path
) -> Iterator[tuple[QFZZStation, SimulatedClock]]:
    """A started station over ``library`` on a ``SimulatedClock`` that advances whenever
    its mounts are drained: its streams play as fast as they are listened to, and
    nothing in it waits on real time. (A listener that stops reading holds time back;
    a test that wants one to fall behind moves the clock itself with ``advance``.)"""
    clock = SimulatedClock()
    station = build_station(settings, clock=clock)
    clock.auto_advance(lambda: mounts_drained(station))
    try:
        station.start()
        station.scan(library)
        yield station, clock
    finally:
        station.close()
        clock.close()


@contextmanager
def live_station(settings: Settings, library: Path) -> Iterator[LiveServer]:
    """A ``simulated_station`` served over HTTP; closed afterwards."""
    with simulated_station(settings, library) as (station, clock), serve_in_thread(station) as url:
        yield LiveServer(url, station, clock)
