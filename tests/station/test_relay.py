"""Two processes of one station (here: two stations on one PostgreSQL schema and one Redis
key prefix, as ``qfzz serve --workers 2`` runs them) keep each other's memory in step
through the relay: feedback, tracks, and a catch-up after missed messages."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack

import numpy as np
import pytest

from qfzz.app import build_station
from qfzz.models import InteractionType
from qfzz.settings import Settings
from qfzz.station import PlaybackState, QFZZStation, TasteModelTrainer
from qfzz.store import open_store
from qfzz.testing import SIX_GENRES, add_synthetic_tracks, tracks_of_genre

WAIT = 10.0  # seconds to wait for a message that should come (not a pace)


@pytest.fixture
def pair(tmp_path, postgres_url, redis_url) -> Iterator[tuple[QFZZStation, QFZZStation]]:
    """Stations A and B sharing a database schema, a Redis key prefix and a data dir."""
    settings = Settings(
        data_dir=tmp_path / "data",
        demo_library=False,
        database_url=postgres_url,
        cache_url=redis_url,
        cache_prefix=f"qfzz-test-{uuid.uuid4().hex[:8]}:",
    )
    seed = open_store(postgres_url)
    add_synthetic_tracks(seed, SIX_GENRES)
    seed.close()
    with ExitStack() as stack:
        stations = []
        for _ in range(2):
            station = build_station(settings)
            stack.callback(station.close)
            station.start()
            relay = station.parts.relay
            assert relay is not None and relay.wait_subscribed(WAIT)
            stations.append(station)
        yield stations[0], stations[1]


def _relay(station: QFZZStation):
    relay = station.parts.relay
    assert relay is not None
    return relay


def test_feedback_on_one_process_changes_the_next_playlist_of_the_other(pair):
    a, b = pair
    a.register_listener("ann", {"genres": ["jazz"]})
    before = b.playlist("ann", 10)
    disliked = [item.track.track_id for item in before.items[:3]]
    heard = _relay(b).received
    for track_id in disliked:
        a.record_interaction("ann", track_id, InteractionType.DISLIKE)
    assert _relay(b).wait_received(heard + 3, WAIT)
    after = b.playlist("ann", 10)
    assert [i.track.track_id for i in after.items] != [i.track.track_id for i in before.items]
    assert not set(disliked) & {i.track.track_id for i in after.items[:5]}
    # B's copy of the profile is the store's: every interaction learned, once
    assert b.profile("ann").applied == 3
    assert all(b.profile("ann").affinity[t] < 0 for t in disliked)


def test_plays_count_and_changed_tracks_reach_the_other_index(pair):
    a, b = pair
    a.register_listener("ann", {})
    track_id = int(a.index.track_ids[0])
    heard = _relay(b).received
    a.record_interaction("ann", track_id, InteractionType.PLAY)
    a.mark_unplayable(track_id, "a test")
    assert _relay(b).wait_received(heard + 2, WAIT)
    row = b.index.row_of(track_id)
    assert b.index.plays[row] == a.index.plays[a.index.row_of(track_id)] == 1
    assert not b.index.playable[row]
    # and B did not tell it back: A heard nothing of its own change
    assert _relay(a).received == 0


def test_a_process_that_missed_messages_catches_up_from_the_store(pair):
    a, b = pair
    a.register_listener("ann", {"genres": ["rock"]})
    b.playlist("ann", 5)  # B holds ann's profile
    _relay(b).stop()  # B hears nothing of what follows (its subscription is gone)
    track_id = int(a.index.track_ids[1])
    a.record_interaction("ann", track_id, InteractionType.LIKE)
    a.mark_unplayable(track_id, "missed by B")
    assert b.index.playable[b.index.row_of(track_id)]  # stale, as expected while away
    catch_ups = _relay(b).catch_ups
    _relay(b).start()
    assert _relay(b).wait_subscribed(WAIT) and _relay(b).catch_ups == catch_ups + 1
    assert not b.index.playable[b.index.row_of(track_id)]
    assert b.profile("ann").affinity[track_id] > 0


def test_a_snapshot_holds_exactly_what_the_log_holds_when_two_processes_learn(pair):
    a, b = pair
    a.register_listener("ann", {"genres": ["jazz"]})
    ids = [int(t) for t in a.index.track_ids[:6]]
    a.profile("ann")
    b.profile("ann")  # both hold the profile, each learns only its own interactions
    _relay(a).stop()
    _relay(b).stop()
    for n, track_id in enumerate(ids):
        (a if n % 2 else b).record_interaction("ann", track_id, InteractionType.LIKE)
    a.snapshot_profiles()  # A's memory lacks B's three likes: its snapshot must not
    stored = a.parts.store.listeners.weights("ann")
    truth = a.rebuild_profile("ann", save=False).stored_tables()
    assert _same(stored, truth)
    assert a.parts.store.listeners.get("ann").profile_interactions == 6


def _same(stored: dict, truth: dict) -> bool:
    kinds = {k for k, t in truth.items() if t} | {k for k, t in stored.items() if t}
    return all(stored.get(k, {}) == pytest.approx(truth.get(k, {})) for k in kinds)


def test_a_profile_loaded_after_a_commit_does_not_learn_the_told_row_twice(pair):
    a, b = pair
    a.register_listener("ann", {})
    _relay(b).stop()  # B is told nothing: the test hands B the rows itself
    track_id = int(a.index.track_ids[2])
    stored = a.record_interaction("ann", track_id, InteractionType.LIKE)
    (row,) = a.parts.store.interactions.history("ann")
    assert row[1] == stored
    loaded = b.profile("ann")  # its load read the row
    assert loaded.applied == 1
    book = b.parts.profiles
    assert book.learn_elsewhere([row]) == []  # told late: already in the profile
    later = (row[0] + 1, stored)
    assert book.learn_elsewhere([later]) == [stored] and loaded.applied == 2


def test_malformed_messages_on_the_channel_change_nothing(pair):
    a, b = pair
    a.register_listener("ann", {})
    before = b.profile("ann").applied
    channel = a.parts.relay._channel  # the station's own channel, as another sender
    junk = [
        b"not json",
        b"[1, 2]",
        b'{"kind": "interactions", "rows": [[1, "ann", -4, "play", null, 1.0]]}',
        b'{"kind": "interactions", "rows": [[1, "ann", 1, "explode", null, 1.0]]}',
        b'{"kind": "tracks", "changed": ["1; DROP TABLE tracks"], "removed": []}',
        b'{"kind": "unknown"}',
        b"x" * 300_000,
    ]
    heard = _relay(b).received
    for message in junk:
        assert channel.publish(message)
    # then a good one, so that the test knows the junk before it has been read
    a.record_interaction("ann", int(a.index.track_ids[0]), InteractionType.PLAY)
    assert _relay(b).wait_received(heard + 1, WAIT)
    assert _relay(b).received == heard + 1
    assert b.profile("ann").applied == before + 1


def test_votes_cast_through_one_process_count_in_the_others_trust_ledger(pair):
    a, b = pair
    for user in ("ann", "bob", "cy"):
        a.register_listener(user, {})
    track = a.track(int(a.index.track_ids[3]))
    assert b.parts.ledger.record(track.content_id, track.creator_id) is None
    heard = _relay(b).received
    for user in ("ann", "bob", "cy"):
        a.record_interaction(user, track.track_id, InteractionType.DISLIKE)
    assert _relay(b).wait_received(heard + 3, WAIT)
    told = b.parts.ledger.record(track.content_id, track.creator_id)
    assert told is not None
    assert told == a.parts.ledger.record(track.content_id, track.creator_id)


def test_now_playing_is_the_same_list_whichever_process_is_asked(pair):
    a, b = pair
    a.register_listener("ann", {})
    track_id = int(a.index.track_ids[4])
    a.parts.collections.scrobble("ann", track_id, played=False, client="DSub")
    (seen,) = b.parts.collections.now_playing()
    assert (seen.user_id, seen.track.track_id, seen.client) == ("ann", track_id, "DSub")
    b.parts.collections.report_playback(
        "ann", track_id, state=PlaybackState.STOPPED, position_ms=600_000, client="DSub"
    )
    assert a.parts.collections.now_playing() == []


def test_a_fit_stored_by_one_process_is_installed_by_the_others(pair):
    a, b = pair
    jazz, metal = tracks_of_genre(a, "jazz"), tracks_of_genre(a, "metal")
    for n in range(12):
        a.register_listener(f"fan{n}", {})
        a.record_interaction(f"fan{n}", jazz[0], "favorite")
        a.record_interaction(f"fan{n}", metal[n % 3], "like")
    fitter = TasteModelTrainer(  # as qfzz worker runs it, here in this thread
        a.parts.store,
        a.parts.dj.collaborative,
        a.parts.catalog.view,
        interval=60,
        min_interactions=1,
        in_child=False,
        shared=a.parts.store.taste_models,
    )
    follower = b.parts.taste_model
    assert follower.follow() is False and b.parts.dj.collaborative.model is None  # none yet
    fitted = fitter.retrain()
    assert fitted is not None
    assert follower.follow() is True
    installed = b.parts.dj.collaborative.model
    assert installed is not None
    assert np.array_equal(installed.item_ids, fitted.item_ids)
    assert np.array_equal(installed.item_factors, fitted.item_factors)
    assert installed.params == fitted.params
    assert b.parts.dj.collaborative.artist_weight == a.parts.dj.collaborative.artist_weight
    assert follower.follow() is False  # nothing newer since
