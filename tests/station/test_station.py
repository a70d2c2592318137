from __future__ import annotations

import asyncio
import threading

import pytest

from qfzz.app import build_station
from qfzz.errors import (
    InvalidDataset,
    InvalidInput,
    InvalidInteraction,
    LicenseRejected,
    ListenerExists,
    QualityTooLow,
    StationNotRunning,
    UnknownListener,
    UnknownTrack,
)
from qfzz.testing import SIX_GENRES, add_synthetic_tracks

DATASET = [
    {
        "title": f"Meta {i}",
        "artist": f"Archive {i % 7}",
        "genre": g,
        "duration": 200 + i,
        "album": "Field Recordings",
        "year": 1990 + i % 20,
        "mood": "calm",
        "energy": 0.0,
        "tempo": 90,
    }
    for i, g in enumerate(["folk", "jazz", "rock", "pop", "world", "blues"] * 10)
]


def _ids_of_genre(station, genre):
    _, tracks = station.search_tracks(genre=genre, limit=100)
    return [t.track_id for t in tracks]


def test_lifecycle_and_unknowns(station, settings, clock):
    station.register_listener("ann", {"genres": ["jazz"]})
    assert station.is_running()
    with pytest.raises(UnknownListener):
        station.generate_playlist("nobody")
    station.stop()
    with pytest.raises(StationNotRunning):
        station.generate_playlist("ann")
    station.start()
    assert len(station.generate_playlist("ann").items) == settings.max_playlist_size


def test_duplicate_and_invalid_listeners_store_nothing(station):
    station.register_listener("ann", {"genres": ["jazz"]}, password="secret")
    with pytest.raises(ListenerExists):
        station.register_listener("ann", {})
    with pytest.raises(InvalidInput):
        station.register_listener("bad id!", {})
    with pytest.raises(InvalidInput):
        station.register_listener("bob", {"discovery_factor": 3})
    with pytest.raises(InvalidInput):
        station.register_listener("bob", {"tempo_preference": "warp"})
    assert station.parts.store.listeners.user_ids() == ["ann"]


def test_playlist_flow_is_stored_with_reasons(station):
    station.register_listener("ann", {"genres": ["metal"], "discovery_factor": 0.2})
    playlist = station.generate_playlist("ann", size=10)
    assert len(playlist.items) == 10
    assert all(item.track.playable and item.reasons for item in playlist.items)
    genres = [item.track.meta.genre for item in playlist.items]
    assert genres.count("metal") >= 7
    assert sum("discovery" in item.reasons for item in playlist.items) == 2
    stored = station.current_playlist("ann")
    assert [i["track_id"] for i in stored.items] == [i.track.track_id for i in playlist.items]
    with pytest.raises(InvalidInput):
        station.generate_playlist("ann", size=0)
    assert len(station.generate_playlist("ann", size=500).items) == 20  # max_playlist_size


def test_invalid_interactions_change_nothing(station):
    station.register_listener("ann", {"genres": ["jazz"]})
    track = _ids_of_genre(station, "jazz")[0]
    before = station.profile("ann").weights
    for args, error in [
        (("ann", track, "hug"), InvalidInteraction),
        (("ann", track, "rate"), InvalidInteraction),
        (("ann", track, "rate", 1.5), InvalidInteraction),
        (("ann", track, "like", 0.5), InvalidInteraction),
        (("ann", 999_999, "like"), UnknownTrack),
        (("zed", track, "like"), UnknownListener),
    ]:
        with pytest.raises(error):
            station.record_interaction(*args)
    assert station.parts.store.interactions.count() == 0
    assert station.profile("ann").weights == before


def test_feedback_is_stored_learned_and_rebuildable(station, clock):
    station.register_listener("ann", {"genres": ["jazz"]})
    jazz, rock = _ids_of_genre(station, "jazz"), _ids_of_genre(station, "rock")
    station.record_interaction("ann", rock[0], "favorite")
    clock.advance(60)
    station.record_interaction("ann", rock[1], "like")
    station.record_interaction("ann", jazz[0], "skip")
    station.record_interaction("ann", jazz[1], "rate", 0.25)
    profile = station.profile("ann")
    # evidence in plays: favorite 4 + like 2 for rock (never named: prior 0, worth 2 plays);
    # a skip and a 0.25 rating, one play against each, for jazz (stated: prior 0.8)
    assert profile.weight("genre", "rock") == pytest.approx(6 / 8, abs=1e-6)
    assert profile.weight("genre", "jazz") == pytest.approx(0.8 * 2 / 4)
    assert station.parts.store.interactions.count() == 4
    rebuilt = station.rebuild_profile("ann", save=False)
    assert rebuilt.weights.keys() == profile.weights.keys()
    for kind in ("genre", "artist", "mood"):
        assert rebuilt.weights[kind] == pytest.approx(profile.weights[kind])


def test_learning_changes_the_next_playlist(station):
    station.register_listener("ann", {"genres": ["classical"], "discovery_factor": 0.0})
    first = station.generate_playlist("ann", size=10)
    assert {i.track.meta.genre for i in first.items} == {"classical"}
    for track_id in _ids_of_genre(station, "electronic")[:6]:
        for kind in ("favorite", "like", "favorite"):
            station.record_interaction("ann", track_id, kind)
    for item in first.items:
        station.record_interaction("ann", item.track.track_id, "dislike")
    second = station.generate_playlist("ann", size=10)
    genres = [i.track.meta.genre for i in second.items]
    assert genres.count("electronic") >= 5


def test_profiles_are_snapshotted_and_the_rest_replayed(settings, clock, monkeypatch):
    first = build_station(settings, clock=clock)
    first.parts.profiles.snapshot_every = 10
    add_synthetic_tracks(first.parts.store, SIX_GENRES)
    first.start()
    first.register_listener("ann", {"genres": ["jazz"]})
    rock = _ids_of_genre(first, "rock")
    for n in range(25):
        first.record_interaction("ann", rock[n % len(rock)], ["like", "skip", "play"][n % 3])
    assert first.parts.store.listeners.get("ann").profile_interactions == 20
    live = first.profile("ann").weights
    first.parts.store.interactions.stop()  # a crash: no snapshot on the way down
    first.parts.store.close()
    second = build_station(settings, clock=clock)
    second.start()
    try:
        reloaded = second.profile("ann")
        assert reloaded.applied == 25 and reloaded.snapshotted == 20
        for kind in ("genre", "artist", "mood"):
            assert reloaded.weights[kind] == pytest.approx(live[kind])
    finally:
        second.close()


def test_a_request_on_the_loop_leaves_the_due_snapshot_to_a_worker_thread(
    settings, clock, monkeypatch
):
    station = build_station(settings, clock=clock)
    station.parts.profiles.snapshot_every = 10
    add_synthetic_tracks(station.parts.store, SIX_GENRES)
    station.start()
    try:
        station.register_listener("ann", {"genres": ["jazz"]})
        rock = _ids_of_genre(station, "rock")
        listeners = station.parts.store.listeners
        saved_on: list[int] = []
        save = listeners.save_profile

        def recording_save(*args, **kwargs):
            saved_on.append(threading.get_ident())
            return save(*args, **kwargs)

        monkeypatch.setattr(listeners, "save_profile", recording_save)

        async def main() -> int:
            for n in range(12):
                await station.arecord_interaction("ann", rock[n % len(rock)], "like")
            await asyncio.get_running_loop().shutdown_default_executor()  # the worker's job
            return threading.get_ident()

        loop_thread = asyncio.run(main())
        assert saved_on and loop_thread not in saved_on
        assert 10 <= listeners.get("ann").profile_interactions <= 12
    finally:
        station.close()


def test_a_fresh_station_reloads_profiles_from_the_store(settings, clock):
    first = build_station(settings, clock=clock)
    add_synthetic_tracks(first.parts.store, SIX_GENRES)
    first.start()
    first.register_listener("ann", {"genres": ["jazz"]})
    track = _ids_of_genre(first, "rock")[0]
    first.record_interaction("ann", track, "favorite")
    first.record_interaction("ann", track, "play")
    weights = first.profile("ann").weights
    first.close()
    second = build_station(settings, clock=clock)
    second.start()
    try:
        assert second.profile("ann").weights == weights
        assert track in second.profile("ann").recent_plays
        assert second.index.plays[second.index.row_of(track)] == 1
    finally:
        second.close()


def test_dataset_import_scores_and_adds_unplayable_tracks(station):
    result = station.import_dataset("archive", DATASET, "CC-BY-SA-4.0")
    assert result.report.components["license"] == pytest.approx(0.9)
    assert set(result.report.components) == {
        "metadata",
        "consistency",
        "size",
        "diversity",
        "license",
    }
    assert len(result.track_ids) == 60
    station.register_listener("ann", {"genres": ["world"], "discovery_factor": 0.0})
    playable_only = station.generate_playlist("ann", size=10)
    assert all(i.track.playable for i in playable_only.items)
    everything = station.generate_playlist("ann", size=10, include_unplayable=True)
    assert any(i.track.meta.genre == "world" for i in everything.items)


def test_rejected_datasets_add_nothing(station):
    before = station.health()["tracks"]
    with pytest.raises(LicenseRejected):
        station.import_dataset("x", DATASET, "All-Rights-Reserved")
    with pytest.raises(QualityTooLow):
        station.import_dataset("x", DATASET[:3], "CC0-1.0", min_quality=0.95)
    with pytest.raises(InvalidDataset):
        station.import_dataset("x", [{"title": "no artist"}], "CC0-1.0")
    assert station.health()["tracks"] == before
    assert station.parts.store.datasets.count() == 0
