"""A generated demo library, so a fresh station has real, varied, tagged music to play.

The library is planned deterministically from a seed (artists, albums, genres, moods,
tempo, energy), then each track is synthesised and encoded in a process pool because
encoding is CPU-bound. A file appears under its final name only once encoded and tagged,
and carries a fingerprint tag of the plan and settings it came from: a rerun keeps every
file whose fingerprint matches and regenerates the rest. After a finished run with the
same arguments, ``manifest.json`` (written last) lets a rerun return at once.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import random
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

import mutagen

from qfzz.audio import PieceSpec, Timbre, encode_audio, synthesize_piece, write_atomically
from qfzz.catalog.tags import tag_audio_bytes

__all__ = [
    "MANIFEST_NAME",
    "DemoTrack",
    "demo_library_ready",
    "generate_demo_library",
    "plan_demo_library",
]

MANIFEST_NAME = "manifest.json"
_MANIFEST_VERSION = 1
_FINGERPRINT = "QFZZ_DEMO_FINGERPRINT"  # a tag naming the plan and settings of the file


@dataclass(frozen=True, slots=True)
class _Genre:
    tempo: tuple[int, int]
    energy: tuple[float, float]
    moods: tuple[str, ...]
    timbres: tuple[Timbre, ...]
    drums: bool


_GENRES: dict[str, _Genre] = {
    "ambient": _Genre((60, 80), (0.05, 0.25), ("calm", "dreamy", "dark"), ("sine",), False),
    "classical": _Genre((66, 112), (0.2, 0.55), ("calm", "sad", "happy"), ("organ", "soft"), False),
    "jazz": _Genre(
        (88, 140), (0.3, 0.6), ("calm", "happy", "dreamy", "sad"), ("soft", "organ"), True
    ),
    "blues": _Genre((70, 110), (0.35, 0.6), ("sad", "calm", "dark"), ("organ", "pluck"), True),
    "folk": _Genre((84, 120), (0.25, 0.5), ("happy", "calm", "sad"), ("pluck",), False),
    "pop": _Genre(
        (100, 128), (0.55, 0.8), ("happy", "energetic", "dreamy"), ("soft", "buzz"), True
    ),
    "hip-hop": _Genre(
        (84, 100), (0.5, 0.75), ("dark", "energetic", "calm"), ("soft", "buzz"), True
    ),
    "rock": _Genre((110, 152), (0.65, 0.9), ("energetic", "happy", "dark"), ("bright",), True),
    "electronic": _Genre((118, 136), (0.6, 0.9), ("energetic", "dreamy", "dark"), ("buzz",), True),
    "metal": _Genre((150, 190), (0.85, 1.0), ("dark", "energetic"), ("bright",), True),
}
# mood -> (mode, energy shift, tempo factor); results are clamped to the genre's ranges.
_MOODS: dict[str, tuple[str, float, float]] = {
    "happy": ("major", 0.05, 1.05),
    "calm": ("major", -0.1, 0.9),
    "sad": ("minor", -0.1, 0.88),
    "energetic": ("major", 0.15, 1.1),
    "dark": ("minor", 0.0, 0.97),
    "dreamy": ("major", -0.08, 0.92),
}
# artist, genres (first for the first album), albums with years.
_ARTISTS: tuple[tuple[str, tuple[str, ...], tuple[tuple[str, int], ...]], ...] = (
    ("Marlowe Quartet", ("jazz",), (("Blue Hours", 2016), ("Late Set at the Lantern", 2019))),
    ("Iron Lantern", ("metal",), (("Forged in Static", 2014), ("Black Tide Rising", 2018))),
    ("Neon Harbor", ("electronic", "pop"), (("Night Transit", 2020), ("Glasswave", 2022))),
    ("Elsa Varga", ("classical",), (("Nocturnes for Small Rooms", 2012), ("Winter Etudes", 2017))),
    ("The Copper Pines", ("folk",), (("Campfire Almanac", 2015), ("River Songs", 2021))),
    ("Delta Ray Hollis", ("blues",), (("Muddy Crossroads", 2011), ("Juke Joint Sundays", 2016))),
    ("Kilo Verse", ("hip-hop",), (("Concrete Hymns", 2019), ("Late Night Cipher", 2023))),
    ("Stillwater Drift", ("ambient",), (("Tidal Memory", 2018), ("Slow Light", 2021))),
    ("Velvet Arcade", ("pop",), (("Sugar Static", 2019), ("Polaroid Summer", 2022))),
    ("The Rust Brothers", ("rock", "blues"), (("Highway Fever", 2013), ("Gravel and Grace", 2017))),
    (
        "Aurora Fjell",
        ("ambient", "classical"),
        (("Northern Quiet", 2016), ("Snowfield Hymns", 2020)),
    ),
    ("Pulse Division", ("electronic",), (("Voltage", 2017), ("Afterhours Protocol", 2021))),
    ("Grave Meridian", ("metal", "rock"), (("Ashen Crown", 2015), ("Hollow Kings", 2020))),
    ("June Calloway", ("folk", "pop"), (("Paper Boats", 2018), ("Porchlight", 2023))),
    ("Soma Kato Trio", ("jazz",), (("Rain on Shibuya", 2014), ("Quiet Fire", 2019))),
    ("MC Lowlight", ("hip-hop", "electronic"), (("Streetlamp Theory", 2020), ("Low Orbit", 2024))),
    ("Bright Static", ("rock", "pop"), (("Loud Weather", 2016), ("Signal Flares", 2019))),
    (
        "Hazel & the Hollows",
        ("blues", "folk"),
        (("Smoke in the Orchard", 2012), ("Lowland Psalms", 2018)),
    ),
)
# Title words, split at use: "<A> <B>" gives 324 distinct titles.
_WORDS_A = (
    "Midnight Golden Silver Hollow Electric Quiet Burning Velvet Broken Northern Paper"
    " Crimson Distant Wild Glass Lonely Amber Falling"
)
_WORDS_B = (
    "Harbor Highway Garden Signal River Lanterns Static Horizon Rain Echoes Avenue Tide"
    " Embers Parade Orbit Letters Fields Mirrors"
)


@dataclass(frozen=True, slots=True)
class DemoTrack:
    """One planned track: its tags, where it goes under ``dest``, and how it sounds."""

    relative_path: str
    title: str
    artist: str
    album: str
    genre: str
    year: int
    track_number: int
    mood: str
    energy: float
    tempo_bpm: int
    format: str
    spec: PieceSpec


def _safe(name: str) -> str:
    return re.sub(r'[/\\:*?"<>|\x00-\x1f]', "_", name).strip(" .") or "_"


def _clamp(value: float, bounds: tuple[float, float]) -> float:
    return min(max(value, bounds[0]), bounds[1])


def plan_demo_library(
    *, tracks: int = 64, seed: int = 7, min_seconds: float = 20.0, max_seconds: float = 40.0
) -> list[DemoTrack]:
    """Decide every track of the library; the same arguments always give the same plan.

    Tracks go round-robin over the artists and alternate between each artist's two albums,
    so even a small library spreads over many artists and genres.
    """
    if tracks < 1:
        raise ValueError(f"tracks must be at least 1, got {tracks}")
    if not 2.0 <= min_seconds <= max_seconds <= 600.0:
        raise ValueError("need 2 <= min_seconds <= max_seconds <= 600")
    rng = random.Random(seed)
    margin = min(0.5, (max_seconds - min_seconds) / 2)  # encoder padding stays in range
    names: set[tuple[int, int, str]] = set()
    numbers: dict[tuple[int, int], int] = {}
    plan: list[DemoTrack] = []
    for i in range(tracks):
        a = i % len(_ARTISTS)
        artist, genres, albums = _ARTISTS[a]
        b = (i // len(_ARTISTS)) % len(albums)
        album, year = albums[b]
        genre = genres[min(b, len(genres) - 1)]
        profile = _GENRES[genre]
        mood = rng.choice(profile.moods)
        mode, shift, factor = _MOODS[mood]
        tempo = round(_clamp(rng.uniform(*profile.tempo) * factor, profile.tempo))
        energy = round(_clamp(rng.uniform(*profile.energy) + shift, profile.energy), 2)
        title = ""
        while not title or (a, b, title) in names:  # unique within the album
            title = f"{rng.choice(_WORDS_A.split())} {rng.choice(_WORDS_B.split())}"
        names.add((a, b, title))
        number = numbers[a, b] = numbers.get((a, b), 0) + 1
        fmt = "mp3" if i % 6 == 5 else "flac"
        spec = PieceSpec(
            seconds=round(rng.uniform(min_seconds + margin, max_seconds - margin), 2),
            tempo_bpm=float(tempo),
            root_midi=rng.randint(43, 55) if genre == "metal" else rng.randint(48, 59),
            mode="minor" if mode == "minor" else "major",
            energy=energy,
            timbre=rng.choice(profile.timbres),
            seed=seed * 100_003 + i,
            drums=profile.drums,
        )
        path = f"{_safe(artist)}/{_safe(album)}/{number:02d} - {_safe(title)}.{fmt}"
        plan.append(
            DemoTrack(
                path, title, artist, album, genre, year, number, mood, energy, tempo, fmt, spec
            )
        )
    return plan


def _fingerprint(track: DemoTrack, sample_rate: int, bitrate_kbps: int) -> str:
    """Identifies what a file was generated from, so a stale file is never mistaken as done."""
    blob = json.dumps([_MANIFEST_VERSION, asdict(track), sample_rate, bitrate_kbps], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def _is_done(path: Path, fingerprint: str) -> bool:
    """A file is done when it exists and was generated from the same plan and settings."""
    try:
        tags = mutagen.File(path).tags
        return fingerprint in str(tags.get(f"TXXX:{_FINGERPRINT}") or tags.get(_FINGERPRINT))
    except Exception:  # missing, unreadable or foreign: generate it
        return False


def _render(track: DemoTrack, dest: str, sample_rate: int, bitrate_kbps: int) -> str:
    """Synthesise, encode, tag and place one track (runs in a worker process)."""
    samples = synthesize_piece(track.spec, sample_rate)
    audio = encode_audio(
        samples, sample_rate, f".{track.format}", bitrate_kbps=bitrate_kbps, fast=True
    )
    values = {
        "TITLE": track.title, "ARTIST": track.artist, "ALBUM": track.album,
        "GENRE": track.genre, "DATE": str(track.year), "TRACKNUMBER": str(track.track_number),
        "BPM": str(track.tempo_bpm), "MOOD": track.mood, "ENERGY": f"{track.energy:.2f}",
        _FINGERPRINT: _fingerprint(track, sample_rate, bitrate_kbps),
    }  # fmt: skip
    write_atomically(Path(dest) / track.relative_path, tag_audio_bytes(audio, values))
    return track.relative_path


def demo_library_ready(dest: Path) -> bool:
    """Whether ``generate_demo_library(dest)`` — with its default arguments, what the
    station makes — has finished (it would return at once): a restart then says nothing
    of making a demo."""
    shape = generate_demo_library.__kwdefaults__ or {}
    plan, args = _plan(**{name: shape[name] for name in _PLAN_ARGUMENTS})
    return _manifest_matches(dest / MANIFEST_NAME, args) and all(
        (dest / t.relative_path).exists() for t in plan
    )


def generate_demo_library(
    dest: Path,
    *,
    tracks: int = 64,
    seed: int = 7,
    min_seconds: float = 20.0,
    max_seconds: float = 40.0,
    on_progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
    sample_rate: int = 24000,
    bitrate_kbps: int = 128,
) -> list[Path]:
    """Create (or complete) the demo library under ``dest`` and return every track's path.

    Layout is ``dest/<Artist>/<Album>/<NN - Title>.<flac|mp3>``; one in six is MP3.

    What a first start costs is mostly this: 64 tracks of 20-40 s each. Synthesis and FLAC
    cost little, an MP3 about ten times what its FLAC does (LAME). So the defaults make
    one track in six an MP3, at 24 kHz (every tone the synthesiser makes is band-limited
    well below 12 kHz; the broadcast stage resamples for listeners anyway): 12-13 s of
    CPU, where 44.1 kHz with two thirds MP3 took 52 s on the same machine
    (``bench/demo.py``).
    A file already present from the same plan and settings is kept (files only appear
    complete). ``on_progress(done, total)`` is called in this process, after each file
    (an exception it raises stops the generation: the finished files stay). Workers are
    spawned, so a script calling this needs the ``if __name__ == "__main__"`` guard.
    """
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    plan, args = _plan(tracks, seed, min_seconds, max_seconds, sample_rate, bitrate_kbps)
    paths = [dest / t.relative_path for t in plan]
    report = on_progress or (lambda done, total: None)
    if _manifest_matches(dest / MANIFEST_NAME, args) and all(p.exists() for p in paths):
        report(len(plan), len(plan))
        return paths
    pending = [t for t, p in zip(plan, paths, strict=True)
               if not _is_done(p, _fingerprint(t, sample_rate, bitrate_kbps))]  # fmt: skip
    done = len(plan) - len(pending)
    report(done, len(plan))
    for _ in _render_all(pending, dest, workers or os.cpu_count() or 1, sample_rate, bitrate_kbps):
        done += 1
        report(done, len(plan))
    body = {"args": args, "tracks": [asdict(t) for t in plan]}
    write_atomically(dest / MANIFEST_NAME, json.dumps(body, indent=1).encode())
    return paths


#: The arguments of ``generate_demo_library`` that decide what it makes.
_PLAN_ARGUMENTS = ("tracks", "seed", "min_seconds", "max_seconds", "sample_rate", "bitrate_kbps")


def _plan(
    tracks: int,
    seed: int,
    min_seconds: float,
    max_seconds: float,
    sample_rate: int,
    bitrate_kbps: int,
) -> tuple[list[DemoTrack], dict[str, object]]:
    """The tracks to make and the arguments the manifest records."""
    plan = plan_demo_library(
        tracks=tracks, seed=seed, min_seconds=min_seconds, max_seconds=max_seconds
    )
    args: dict[str, object] = dict(
        version=_MANIFEST_VERSION, tracks=tracks, seed=seed, min_seconds=min_seconds,
        max_seconds=max_seconds, sample_rate=sample_rate, bitrate_kbps=bitrate_kbps,
    )  # fmt: skip
    return plan, args


def _render_all(
    pending: list[DemoTrack], dest: Path, workers: int, sample_rate: int, bitrate_kbps: int
) -> Iterator[str]:
    """Render tracks, yielding each one's path as it completes; inline for one worker."""
    jobs = min(workers, len(pending))
    if jobs <= 1:
        for track in pending:
            yield _render(track, str(dest), sample_rate, bitrate_kbps)
        return
    # Longest jobs first keeps both cores busy to the end. Spawn, not fork: the caller may
    # be a threaded server, and a forked child inherits locks held by other threads.
    ordered = sorted(pending, key=lambda t: (t.format == "mp3", t.spec.seconds), reverse=True)
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(_render, t, str(dest), sample_rate, bitrate_kbps) for t in ordered}
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            pool.shutdown(cancel_futures=True)


def _manifest_matches(manifest: Path, args: dict[str, object]) -> bool:
    try:
        return bool(json.loads(manifest.read_text())["args"] == args)
    except (OSError, ValueError, KeyError, TypeError):
        return False
