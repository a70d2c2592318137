"""Helpers for tests of QFZZ and of code built on it (shipped, beets-style).

``FakeClock`` is the injected clock tests move by hand; ``add_synthetic_tracks`` fills a
catalog with described tracks without audio files, for DJ and API behaviour tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qfzz.audio import SAMPLE_RATE, encode_audio_file
from qfzz.models import ScannedFile, TrackMeta
from qfzz.store import Store

__all__ = ["SIX_GENRES", "FakeClock", "SyntheticTrack", "add_synthetic_tracks", "write_tone"]


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
