"""The first start on an empty data directory: demo library created, scanned, playable."""

from __future__ import annotations

import shutil

from qfzz.app import _bootstrap as bootstrap
from qfzz.app import prepare_station
from qfzz.settings import Settings


def test_first_start_makes_and_scans_a_demo_library(tmp_path, demo_library):
    folder, paths, _ = demo_library
    settings = Settings(data_dir=tmp_path / "data")
    # Seed the data dir with the session's library so this test does not encode it again:
    # a finished demo is not made again, and no step says it is (a restart's log told of
    # "creating demo library 64/64").
    shutil.copytree(folder, settings.demo_library_dir)
    steps: list[str] = []
    station = prepare_station(settings, lambda what: steps.append(what) or (lambda *a: None))
    try:
        assert steps == [f"scanning {settings.demo_library_dir}"]
        assert station.health() == {"status": "ok", "running": True, "tracks": len(paths)}
        assert len(paths) >= 60
        _, tracks = station.search_tracks(limit=500)
        assert len({t.meta.genre for t in tracks}) >= 6
        assert len({t.artist for t in tracks}) >= 12
        assert {t.meta.format for t in tracks} == {"mp3", "flac"}
        assert all(t.playable and 20 <= t.meta.duration <= 40 for t in tracks)
        station.register_listener("ann", {"genres": ["jazz"]})
        playlist = station.generate_playlist("ann")
        assert len(playlist.items) == 20
    finally:
        station.close()
    again = prepare_station(settings)  # a restart rescans incrementally: nothing changes
    try:
        assert again.health()["tracks"] == len(paths)
    finally:
        again.close()


def test_a_library_prepared_before_serving_leaves_the_station_ok(tmp_path, monkeypatch):
    """`prepare_station` (and `--workers`' preparation) wait for the whole library: the
    demo's steps are reported, but the station never says 'starting' afterwards."""
    made: list[tuple[int, int]] = []

    def quick_demo(dest, *, on_progress):
        dest.mkdir(parents=True, exist_ok=True)
        for done in (1, 2):
            on_progress(done, 2)
            made.append((done, 2))
        return []

    monkeypatch.setattr(bootstrap, "generate_demo_library", quick_demo)
    station = prepare_station(Settings(data_dir=tmp_path / "data"))
    try:
        assert made == [(1, 2), (2, 2)]  # the demo was made here, its steps reported
        assert station.health() == {"status": "ok", "running": True, "tracks": 0}
    finally:
        station.close()
