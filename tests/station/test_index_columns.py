"""The index's columns kept between runs: a restart reads the file only while it is the
tracks' state, and anything else (a change, a damaged file) reads the database."""

from __future__ import annotations

import numpy as np
import pytest

from qfzz.app import build_station
from qfzz.models import QualityReport, TrackMeta
from qfzz.settings import Settings
from qfzz.station import _index_columns
from qfzz.store import open_store
from qfzz.testing import SIX_GENRES, add_synthetic_tracks


def _columns_of(station) -> dict[str, list]:
    index = station.index
    return {
        "ids": index.track_ids.tolist(),
        "artist": [index.artists.display[c] for c in index.artist.tolist()],
        "genre": [index.genres.display[c] for c in index.genre.tolist()],
        "mood": [index.moods.display[c] for c in index.mood.tolist()],
        "energy": index.energy.tolist(),
        "tempo": np.nan_to_num(index.tempo, nan=-1.0).tolist(),
        "playable": index.playable.tolist(),
    }


@pytest.fixture
def settings(tmp_path, store_url) -> Settings:
    store = open_store(store_url)
    add_synthetic_tracks(store, SIX_GENRES)
    store.close()
    return Settings(data_dir=tmp_path / "data", demo_library=False, database_url=store_url)


def _started(settings: Settings, monkeypatch=None, *, database_read: bool):
    """A started station, and whether it read the columns from the database."""
    station = build_station(settings)
    reads: list[int] = []
    real = station.parts.store.tracks.feature_columns

    def counted(**kwargs):
        reads.append(1)
        return real(**kwargs)

    station.parts.store.tracks.feature_columns = counted  # type: ignore[method-assign]
    station.start()
    assert bool(reads) is database_read
    return station


def test_a_restart_reads_the_kept_columns_which_equal_the_database_s(settings) -> None:
    first = _started(settings, database_read=True)
    expected = _columns_of(first)
    first.close()
    assert (settings.data_dir / _index_columns.FILE_NAME).exists()
    again = _started(settings, database_read=False)
    try:
        assert _columns_of(again) == expected
        assert len(expected["ids"]) == len(SIX_GENRES)
    finally:
        again.close()


def test_a_change_of_the_tracks_while_stopped_is_read_from_the_database(settings) -> None:
    first = _started(settings, database_read=True)
    first.close()
    store = open_store(settings.resolved_database_url)
    store.tracks.set_playable(1, False)
    store.close()
    again = _started(settings, database_read=True)
    try:
        assert again.index.playable[again.index.row_of(1)] == np.False_
    finally:
        again.close()
    third = _started(settings, database_read=False)  # the new state was kept
    third.close()


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_a_damaged_file_is_not_used_and_is_replaced(settings, damage, caplog) -> None:
    first = _started(settings, database_read=True)
    expected = _columns_of(first)
    first.close()
    path = settings.data_dir / _index_columns.FILE_NAME
    data = path.read_bytes()
    path.write_bytes(
        {"truncated": data[: len(data) // 2], "garbage": b"x" * 999, "empty": b""}[damage]
    )
    again = _started(settings, database_read=True)
    try:
        assert _columns_of(again) == expected
        assert "not used" in caplog.text
    finally:
        again.close()
    third = _started(settings, database_read=False)
    third.close()


def test_every_write_of_tracks_moves_the_key(store_url) -> None:
    store = open_store(store_url)
    try:
        seen = [store.tracks.columns_version()]

        def moved() -> None:
            now = store.tracks.columns_version()
            assert now not in seen
            seen.append(now)

        [first, *_] = add_synthetic_tracks(store, SIX_GENRES[:3])
        moved()
        add_synthetic_tracks(store, SIX_GENRES[:1], now=5.0)  # a rescan of changed tags
        moved()
        store.tracks.set_playable(first, False)
        moved()
        store.tracks.mark_removed(["/music/000001 Jazz Artist 1 - Jazz Song 1.mp3"])
        moved()
        report = QualityReport(0.9, {"metadata": 1.0}, "CC0", 1)
        _record, [record] = store.datasets.create(
            "ds", report, [TrackMeta("Song", "Band")], ["d1"], now=2.0
        )
        moved()  # records without audio: no group changes, the highest id does
        assert store.tracks.attach_file(record, "/music/found.mp3", size=1, mtime=1.0, duration=9)
        moved()
    finally:
        store.close()


def test_a_write_cut_short_leaves_nothing_behind_once_the_file_is_written(settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    left = settings.data_dir / f".{_index_columns.FILE_NAME}.cut"  # as kill -9 leaves one
    left.write_bytes(b"half")
    first = _started(settings, database_read=True)
    first.close()  # waits for the file kept in the background
    assert not left.exists()
    assert [p.name for p in settings.data_dir.glob(f"*{_index_columns.FILE_NAME}*")] == [
        _index_columns.FILE_NAME
    ]
