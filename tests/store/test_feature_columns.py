"""The catalog's feature columns, read by one process or by two at once (a second process
reads the highest ids of a big catalog): the same columns either way, on both databases,
and a second reader that fails costs only time."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from qfzz.models import ScannedFile, TrackMeta
from qfzz.store import _column_part
from qfzz.store.tracks import FeatureColumns


def _fill(store) -> None:
    files = [
        ScannedFile(
            path=f"/f{i}",
            size=1,
            mtime=0.0,
            meta=TrackMeta(
                title=f"T{i}",
                artist=f"Artist {i % 37}" if i % 11 else "Ünïcode Ärtist",
                genre=None if i % 13 == 0 else f"g{i % 5}",
                mood=None if i % 7 == 0 else f"m{i % 3}",
                energy=None if i % 17 == 0 else (i % 10) / 10,
                tempo=None if i % 19 == 0 else 60.0 + i,
            ),
            content_id=f"c{i}",
        )
        for i in range(600)
    ]
    ids = store.tracks.upsert_files(files, now=1.0)
    store.tracks.mark_removed([f"/f{i}" for i in range(0, 600, 9)])
    store.tracks.set_playable(ids[5], False)


def _child(code: str) -> subprocess.Popen:
    """A second reader that runs ``code`` instead of reading (stdin already told)."""
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE
    )
    child.stdin = None
    return child


def _as_lists(columns: FeatureColumns) -> dict[str, list]:
    return {
        "ids": columns.track_id.tolist(),
        "artist": columns.artist.decoded(),
        "genre": columns.genre.decoded(),
        "mood": columns.mood.decoded(),
        "energy": np.nan_to_num(columns.energy, nan=-1.0).tolist(),
        "tempo": np.nan_to_num(columns.tempo, nan=-1.0).tolist(),
        "playable": columns.playable.tolist(),
    }


def test_two_readers_read_what_one_reads(store, monkeypatch) -> None:
    _fill(store)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    spawned = []
    real_spawn = _column_part.spawn

    def spawn(url, low, high):
        spawned.append((low, high))
        return real_spawn(url, low, high)

    monkeypatch.setattr(_column_part, "spawn", spawn)
    one = store.tracks.feature_columns(split_from=None)
    two = store.tracks.feature_columns(split_from=100, page=64)  # several pages each
    assert spawned and spawned[0][1] == 600
    assert _as_lists(two) == _as_lists(one)
    assert len(one) == 600 - len(range(0, 600, 9))
    assert "Ünïcode Ärtist" in one.artist.values and None in one.genre.values


def test_a_second_reader_that_fails_costs_only_time(store, monkeypatch, caplog) -> None:
    _fill(store)
    monkeypatch.setattr("os.cpu_count", lambda: 2)

    monkeypatch.setattr(_column_part, "spawn", lambda *_: _child("import sys; sys.exit(3)"))
    one = store.tracks.feature_columns(split_from=None)
    two = store.tracks.feature_columns(split_from=100)
    assert _as_lists(two) == _as_lists(one)
    assert "second reader failed (exit 3)" in caplog.text


def test_a_second_reader_that_hangs_is_stopped(store, monkeypatch, caplog) -> None:
    _fill(store)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    monkeypatch.setattr(_column_part, "TIMEOUT", 0.0)  # no wait: it has given up already

    hung: list[subprocess.Popen] = []

    def hanging(*_):
        hung.append(_child("import time; time.sleep(3600)"))
        return hung[-1]

    monkeypatch.setattr(_column_part, "spawn", hanging)
    one = store.tracks.feature_columns(split_from=None)
    assert _as_lists(store.tracks.feature_columns(split_from=100)) == _as_lists(one)
    assert "gave no answer" in caplog.text
    assert hung[0].poll() is not None  # killed, not left behind
