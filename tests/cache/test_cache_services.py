"""The behaviour suite: every service, run on the embedded backend and on real Redis."""

from __future__ import annotations

import pytest

from qfzz.cache import (
    CacheServices,
    PlayDelta,
    Session,
    TrackCache,
)
from qfzz.models import Track, TrackMeta


def track(n: int, title: str = "Song") -> Track:
    return Track(n, TrackMeta(f"{title} {n}", "Artist", genre="jazz", energy=0.0), playable=True)


class Loader:
    """A stand-in for the store that counts how often it is asked."""

    def __init__(self, values: dict | None = None) -> None:
        self.values = values if values is not None else {}
        self.calls: list[object] = []

    def __call__(self, key):
        self.calls.append(key)
        return self.values.get(key)


@pytest.fixture
def services(cache) -> CacheServices:
    return CacheServices.build(cache)


def test_track_metadata_is_loaded_once_then_served_from_the_cache(services):
    load = Loader({7: track(7)})
    assert services.tracks.get(7, load) == track(7)
    assert services.tracks.get(7, load) == track(7)
    assert load.calls == [7]
    stats = services.cache.stats()["namespaces"]["track"]
    assert (stats["hits"], stats["misses"]) == (1, 1)


def test_track_metadata_expires_after_24_hours_of_clock_time(services, clock):
    load = Loader({7: track(7)})
    services.tracks.get(7, load)
    clock.advance(24 * 3600 - 1)
    services.tracks.get(7, load)
    assert len(load.calls) == 1
    clock.advance(2)
    services.tracks.get(7, load)
    assert len(load.calls) == 2


def test_invalidation_after_a_rescan_serves_the_new_metadata(services):
    load = Loader({7: track(7, "Old")})
    services.tracks.get(7, load)
    load.values[7] = track(7, "New")
    services.tracks.invalidate([7])
    assert services.tracks.get(7, load).title == "New 7"


def test_a_missing_track_is_remembered_briefly(services, clock):
    load = Loader()
    assert services.tracks.get(99, load) is None
    assert services.tracks.get(99, load) is None
    assert len(load.calls) == 1
    clock.advance(61)
    services.tracks.get(99, load)
    assert len(load.calls) == 2


def test_get_many_loads_only_what_is_missing_in_one_call(services):
    services.tracks.put([track(1), track(2)])
    calls = []

    def load_many(ids):
        calls.append(list(ids))
        return {i: track(i) for i in ids if i != 4}

    found = services.tracks.get_many([1, 2, 3, 4, 2], load_many)
    assert found == {1: track(1), 2: track(2), 3: track(3)}
    assert calls == [[3, 4]]
    assert services.tracks.get_many([1, 3, 4], load_many) == {1: track(1), 3: track(3)}
    assert calls == [[3, 4]]  # 4 is remembered as missing


def test_search_results_share_a_key_across_spellings_and_expire_after_an_hour(services, clock):
    results = (2, [track(1), track(2)])
    calls = []

    def load():
        calls.append(1)
        return results

    assert services.search.get("  Blue  NOTE", {"genre": "Jazz"}, (50, 0), load) == results
    assert services.search.get("blue note", {"genre": "jazz", "artist": None}, (50, 0), load)
    assert len(calls) == 1
    services.search.get("blue note", {"genre": "jazz"}, (50, 50), load)  # another page
    assert len(calls) == 2
    clock.advance(3601)
    services.search.get("blue note", {"genre": "jazz"}, (50, 0), load)
    assert len(calls) == 3


def test_feedback_invalidates_exactly_that_listeners_playlist(services):
    alice, bob = Loader({"a": ["p1"]}), Loader({"b": ["p2"]})
    services.playlists.get("alice", lambda: alice("a"))
    services.playlists.get("bob", lambda: bob("b"))
    services.playlists.invalidate("alice")
    services.playlists.get("alice", lambda: alice("a"))
    services.playlists.get("bob", lambda: bob("b"))
    assert (len(alice.calls), len(bob.calls)) == (2, 1)


def test_now_playing_lives_for_seconds(services, clock):
    services.now_playing.put("main", {"title": "A"})
    assert services.now_playing.get("main", lambda: {"title": "loaded"}) == {"title": "A"}
    clock.advance(6)
    assert services.now_playing.get("main", lambda: {"title": "B"}) == {"title": "B"}


def test_sessions_live_as_long_as_their_token(services, clock):
    load = Loader({"t": Session("alice", clock() + 100)})
    assert services.sessions.get("secret-token", lambda: load("t")) == Session(
        "alice", clock() + 100
    )
    assert services.sessions.get("secret-token", lambda: load("t")).user_id == "alice"
    assert len(load.calls) == 2  # loaded, then confirmed once cached; then a hit
    clock.advance(101)
    load.values.clear()
    assert services.sessions.get("secret-token", lambda: load("t")) is None


def test_revoked_and_unknown_sessions_are_not_served(services):
    services.sessions.put("tok", Session("alice"))
    services.sessions.revoke("tok")
    assert services.sessions.get("tok", lambda: None) is None
    assert services.sessions.get("nobody", lambda: None) is None


def test_play_counts_are_seeded_from_the_store_then_counted(services):
    plays = services.plays
    plays.record(5, "alice")  # nothing cached yet: the store has it; nothing is created
    assert plays.track(5, lambda i: 10) == 10
    assert plays.listener_track("alice", 5, lambda: 3) == 3
    plays.record(5, "alice")
    plays.record_many([(5, "bob", 2), (6, None, 1)])
    assert plays.track(5, lambda i: -1) == 13
    assert plays.listener_track("alice", 5, lambda: -1) == 4
    assert plays.tracks([5, 6], lambda ids: {6: 1}) == {5: 13, 6: 1}


def test_a_zero_count_is_a_real_seeded_count(services):
    assert services.plays.track(8, lambda i: 0) == 0
    services.plays.record(8)
    assert services.plays.track(8, lambda i: -1) == 1


def test_play_counts_rebuild_from_the_store(services):
    services.plays.track(5, lambda i: 10)
    services.plays.rebuild({5: 2, 6: 4}, {("alice", 5): 1})
    assert services.plays.tracks([5, 6], lambda ids: {}) == {5: 2, 6: 4}
    assert services.plays.listener_track("alice", 5, lambda: -1) == 1


def test_play_counts_flush_to_the_store_in_batches(cache):
    batches: list[list[PlayDelta]] = []
    services = CacheServices.build(cache, flush_plays=batches.append)
    services.plays.flush_every = 3
    services.plays.record(1, "alice")
    services.plays.record(1, "bob")
    assert batches == []
    services.plays.record(2, None)
    assert len(batches) == 1
    totals = {(d.track_id, d.user_id): d.plays for d in batches[0]}
    assert totals == {(1, None): 2, (1, "alice"): 1, (1, "bob"): 1, (2, None): 1}
    assert services.plays.flush() == 0


def test_a_failing_flush_keeps_the_plays_for_the_next_one(cache):
    attempts: list[int] = []

    def flaky(batch):
        attempts.append(len(batch))
        if len(attempts) == 1:
            raise RuntimeError("database is locked")

    services = CacheServices.build(cache, flush_plays=flaky)
    services.plays.record(1)
    assert services.plays.flush() == 0
    assert services.plays.flush() == 1
    assert cache.stats()["namespaces"]["plays"]["errors"] == 1


def test_recently_played_is_newest_first_without_duplicates_and_50_long(services):
    recent = services.recent
    assert recent.get("alice", lambda u: [3, 2, 1, 2]) == [3, 2, 1]
    for n in range(4, 60):
        recent.push("alice", n)
    recent.push("alice", 10)
    got = recent.get("alice", lambda u: pytest.fail("must not reload"))
    assert got[:3] == [10, 59, 58]
    assert len(got) == 50 and len(set(got)) == 50


def test_recently_played_is_not_built_from_a_partial_history(services):
    services.recent.push("bob", 9)  # never seeded: must not become a one-item history
    assert services.recent.get("bob", lambda u: [9, 4, 2]) == [9, 4, 2]


def test_favorites_follow_adds_and_removes_after_seeding(services):
    favorites = services.favorites
    favorites.add("alice", 1)  # not seeded yet: dropped, the store has it
    assert favorites.get("alice", lambda u: {1, 2}) == {1, 2}
    favorites.add("alice", 3)
    favorites.remove("alice", 1)
    assert favorites.get("alice", lambda u: pytest.fail("must not reload")) == {2, 3}
    assert favorites.contains("alice", 3, lambda u: set())


def test_an_empty_favorites_set_is_cached_too(services):
    calls = []
    services.favorites.get("new", lambda u: calls.append(u) or set())
    services.favorites.get("new", lambda u: calls.append(u) or set())
    assert calls == ["new"]


def test_playback_progress_resumes_where_it_stopped(services, clock):
    assert services.progress.get("alice", 5, lambda: None) is None
    saved = services.progress.save("alice", 5, 42.5, 180.0)
    assert services.progress.get("alice", 5, lambda: None) == saved
    assert saved.updated_at == clock()


def test_device_sync_queue_delivers_in_order_and_acked_items_leave(services):
    devices = services.devices
    assert devices.pull("phone").resync  # never synced
    devices.reset("phone")
    ids = [devices.push("phone", {"change": n}) for n in range(3)]
    batch = devices.pull("phone")
    assert not batch.resync
    assert [i.change for i in batch.items] == [{"change": 0}, {"change": 1}, {"change": 2}]
    assert devices.ack("phone", ids[:2]) == 2
    assert [i.item_id for i in devices.pull("phone").items] == ids[2:]
    assert devices.ack("phone", ids) == 1
    assert devices.pull("phone").items == ()


def test_device_sync_queue_is_bounded_and_says_when_it_overflowed(cache):
    services = CacheServices.build(cache)
    services.devices.max_items = 5
    services.devices.reset("tv")
    for n in range(5):
        services.devices.push("tv", n)
    assert not services.devices.pull("tv").resync
    services.devices.push("tv", 5)
    batch = services.devices.pull("tv")
    assert batch.resync
    assert [i.change for i in batch.items] == [0, 1, 2, 3, 4, 5]  # the marker was pushed out
    for n in range(6, 100):
        services.devices.push("tv", n)
    assert len(services.devices.pull("tv", limit=1000).items) == 6  # bounded


def test_job_progress_is_visible_until_finished(services):
    services.job_progress.update("scan-1", 10, 100, "scanning")
    services.job_progress.update("scan-1", 100, 100, "done", finished=True)
    progress = services.job_progress.get("scan-1")
    assert (progress.done, progress.total, progress.finished) == (100, 100, True)
    assert services.job_progress.get("other") is None


def test_clear_namespace_deletes_only_that_namespace(services):
    services.tracks.put([track(1), track(2)])
    services.search.get("q", None, (10, 0), lambda: [1])
    assert services.cache.clear_namespace("track") == 2
    assert services.tracks.get(1, lambda i: None) is None
    assert services.search.get("q", None, (10, 0), lambda: pytest.fail("kept")) == [1]


def test_stats_snapshot_has_counters_latency_and_circuit_state(services):
    services.tracks.get(1, lambda i: track(1))
    services.tracks.get(1, lambda i: track(1))
    snapshot = services.cache.stats()
    assert snapshot["circuit"] == "closed"
    track_stats = snapshot["namespaces"]["track"]
    assert track_stats["hit_ratio"] == 0.5
    assert track_stats["latency_p50_seconds"] > 0
    assert track_stats["latency_p99_seconds"] >= track_stats["latency_p50_seconds"]


def test_a_loader_error_reaches_the_caller_untouched(services):
    class StoreDown(Exception):
        pass

    def broken(_):
        raise StoreDown

    with pytest.raises(StoreDown):
        services.tracks.get(1, broken)


def test_ttls_are_configurable_per_service(cache, clock):
    short = TrackCache(cache, ttl=10)
    load = Loader({1: track(1)})
    short.get(1, load)
    clock.advance(11)
    short.get(1, load)
    assert len(load.calls) == 2
