"""The behaviour suite: every service, run on the embedded backend and on real Redis."""

from __future__ import annotations

import pytest

from qfzz.cache import CacheServices, Session, TrackCache
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
