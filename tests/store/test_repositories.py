from __future__ import annotations

import threading

import pytest

from qfzz.errors import ListenerExists
from qfzz.models import Interaction, InteractionType, QualityReport, TrackMeta
from qfzz.store import ListenerRecord
from qfzz.testing import SyntheticTrack, add_synthetic_tracks

TRACKS = [
    SyntheticTrack("Blue in Green", "Miles", "jazz"),
    SyntheticTrack("So What", "Miles", "jazz"),
    SyntheticTrack("Paranoid", "Sabbath", "metal", "dark", 0.9, 160.0),
]


def _listener(store, user_id="ann", now=1.0):
    store.listeners.create(
        ListenerRecord(user_id, {"genres": {"jazz": 0.8}}, 0.2, 0.5, "varied", now),
        password_hash="x",
        token_digest="d" * 64,
        weights={"genre": {"jazz": 0.8}},
    )


def test_scanned_files_round_trip_and_search(store):
    ids = add_synthetic_tracks(store, TRACKS)
    assert len(ids) == 3
    assert store.tracks.count() == 3
    total, found = store.tracks.search(q="so wh")
    assert total == 1 and found[0].title == "So What" and found[0].playable
    total, found = store.tracks.search(artist="MILES", limit=1)
    assert total == 2 and len(found) == 1
    total, _ = store.tracks.search(genre="metal")
    assert total == 1
    total, _ = store.tracks.search(q="100%_")  # LIKE wildcards are taken literally
    assert total == 0


def test_rescan_updates_in_place_and_removal_hides_tracks(store):
    ids = add_synthetic_tracks(store, TRACKS)
    again = add_synthetic_tracks(store, TRACKS)
    assert again == ids  # same paths: same rows
    states = store.tracks.file_states()
    path = next(p for p, s in states.items() if s.track_id == ids[0])
    assert store.tracks.mark_removed([path]) == [ids[0]]
    assert store.tracks.get(ids[0]) is None
    assert store.tracks.count() == 2
    assert ids[0] not in store.tracks.feature_columns().track_id


def test_dataset_is_all_or_nothing(store):
    report = QualityReport(0.9, {"metadata": 1.0}, "CC-BY-4.0", 2)
    metas = [TrackMeta("A", "X", genre="pop"), TrackMeta("B", "Y", genre="pop")]
    with pytest.raises(ValueError):  # one content id missing: nothing may be stored
        store.datasets.create("bad", report, metas, ["c1"], now=1.0)
    assert store.datasets.count() == 0 and store.tracks.count() == 0
    record, ids = store.datasets.create("good", report, metas, ["c1", "c2"], now=1.0)
    assert record.track_count == 2 and len(ids) == 2
    tracks = store.tracks.get_many(ids)
    assert [tracks[i].title for i in ids] == ["A", "B"]
    assert not any(t.playable for t in tracks.values())
    assert store.datasets.all()[0].components == {"metadata": 1.0}


def test_duplicate_listener_is_rejected(store):
    _listener(store)
    with pytest.raises(ListenerExists):
        _listener(store)
    assert store.listeners.user_for_token("d" * 64) == "ann"
    assert store.listeners.weights("ann") == {"genre": {"jazz": 0.8}}


def test_interaction_log_and_profile_snapshots(store):
    ids = add_synthetic_tracks(store, TRACKS)
    _listener(store)
    store.interactions.write_batch(
        [
            Interaction("ann", ids[0], InteractionType.PLAY, None, 1.0),
            Interaction("ann", ids[0], InteractionType.RATE, 0.75, 2.0),
            Interaction("ann", ids[2], InteractionType.PLAY, None, 3.0),
        ]
    )
    history = store.interactions.for_listener("ann")
    assert [i.type for i in history] == [
        InteractionType.PLAY,
        InteractionType.RATE,
        InteractionType.PLAY,
    ]
    assert history[1].rating == 0.75
    assert store.interactions.play_counts() == {ids[0]: 1, ids[2]: 1}
    assert [i.created_at for i in store.interactions.for_listener("ann", limit=2)] == [2.0, 3.0]
    assert store.listeners.get("ann").profile_interactions == 0
    store.listeners.save_profile("ann", {"genre": {"jazz": 0.95}, "artist": {"miles": 0.1}}, 0.4, 3)
    assert store.listeners.weights("ann") == {"genre": {"jazz": 0.95}, "artist": {"miles": 0.1}}
    record = store.listeners.get("ann")
    assert (record.energy_level, record.profile_interactions) == (0.4, 3)
    # a delta: the rows learned since the last snapshot are upserted, the rest kept
    store.listeners.save_profile(
        "ann", {"genre": {"jazz": 0.5, "rock": 0.25}}, 0.45, 5, whole=False
    )
    assert store.listeners.weights("ann") == {
        "genre": {"jazz": 0.5, "rock": 0.25},
        "artist": {"miles": 0.1},
    }
    assert store.listeners.get("ann").profile_interactions == 5
    store.listeners.save_profile("ann", {"mood": {"calm": 0.3}}, 0.5, 6)  # whole: replaces
    assert store.listeners.weights("ann") == {"mood": {"calm": 0.3}}


def test_group_commit_acknowledges_every_concurrent_writer(store):
    ids = add_synthetic_tracks(store, TRACKS)
    _listener(store)
    store.interactions.start()
    try:

        def worker(n: int) -> None:
            for k in range(25):
                interaction = Interaction("ann", ids[k % 3], InteractionType.PLAY, None, n + k)
                store.interactions.append(interaction)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        store.interactions.stop()
    assert store.interactions.count() == 200


def test_id_lists_larger_than_one_statement_may_bind(store):
    ids = add_synthetic_tracks(store, TRACKS)
    many = [*ids, *range(10**6, 10**6 + 70_000)]  # > 65,535: over PostgreSQL's limit too
    assert sorted(store.tracks.get_many(many)) == sorted(ids)
    assert store.interactions.play_counts(many) == {}
