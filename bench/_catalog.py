"""Synthetic catalogs for the benchmarks, written straight into a store in bulk."""

from __future__ import annotations

import numpy as np
from sqlalchemy import text

from qfzz.store import Store, _groups
from qfzz.store._schema import tracks

GENRES = [
    "rock",
    "pop",
    "jazz",
    "classical",
    "hip-hop",
    "electronic",
    "folk",
    "metal",
    "blues",
    "ambient",
    "soul",
    "funk",
    "punk",
    "indie",
    "house",
    "techno",
    "country",
    "reggae",
] + [f"genre-{i}" for i in range(30)]
MOODS = ["happy", "sad", "calm", "energetic", "dark", "dreamy", "angry", "romantic"]


def synthetic_columns(n: int, seed: int = 7) -> dict[str, np.ndarray]:
    """The catalog's feature columns as arrays (artist number, genre and mood indexes into
    ``GENRES`` and ``MOODS``, energy, tempo): the same draws ``synthetic_rows`` spells out."""
    rng = np.random.default_rng(seed)
    # ~10 tracks per artist, with a head of popular artists (≈200 tracks each), as in
    # real catalogs where even the biggest artist holds a tiny share of all tracks.
    n_artists = max(10, n // 10)
    head = max(5, n_artists // 100)
    artist = np.where(rng.random(n) < 0.2, rng.integers(0, head, n), rng.integers(0, n_artists, n))
    genre = rng.integers(0, len(GENRES), n)
    mood = rng.integers(0, len(MOODS), n)
    energy = rng.random(n).round(3)
    tempo = (60 + rng.random(n) * 120).round(1)
    return {"artist": artist, "genre": genre, "mood": mood, "energy": energy, "tempo": tempo}


def synthetic_rows(n: int, seed: int = 7) -> list[dict]:
    columns = synthetic_columns(n, seed)
    artist, genre, mood = columns["artist"], columns["genre"], columns["mood"]
    energy, tempo = columns["energy"], columns["tempo"]
    return [
        {
            "path": f"/bench/{i}.mp3",
            "size": 1000,
            "mtime": 0.0,
            "title": f"Track {i}",
            "artist": f"Artist {artist[i]}",
            "album": f"Album {artist[i]}",
            "genre": GENRES[genre[i]],
            "year": 2000,
            "mood": MOODS[mood[i]],
            "energy": float(energy[i]),
            "tempo": float(tempo[i]),
            "duration": 200.0,
            "bitrate": 192,
            "format": "mp3",
            "musicbrainz_id": None,
            "content_id": None,
            "creator_id": f"artist {artist[i]}",
            "dataset_id": None,
            "playable": True,
            "removed": False,
            "added_at": 0.0,
        }
        for i in range(n)
    ]


def fill(store: Store, n: int, chunk: int = 50_000) -> None:
    """Bulk-load ``n`` synthetic tracks, then rebuild the library's groups from them (the
    load skips ``store.tracks``, so it does what every track write does there)."""
    rows = synthetic_rows(n)
    for start in range(0, n, chunk):
        with store.db.write() as conn:
            conn.execute(tracks.insert(), rows[start : start + chunk])
    with store.db.write() as conn:
        _groups.rebuild(conn)
    if not store.db.is_sqlite:
        # What autovacuum does soon after a bulk load, done now so a benchmark measures the
        # steady state: statistics for the planner (none yet: it guesses), the visibility
        # map that lets index-only scans skip the table, GIN pending lists merged.
        with store.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE"))
