"""Revocation wins: a delete the server missed is honoured before anything is read back.

A key whose delete (or whose namespace's clear) is still in the journal is a tombstone:
reading it is a miss, and nothing read from the server fills L1 with it, until the
journal has been replayed. The real-server tests stall or kill a ``redis-server`` of
their own; the breaker follows the fake clock, so nothing here sleeps.
"""

from __future__ import annotations

import os
import signal
import threading

import pytest
import redis

from qfzz.app import build_station
from qfzz.cache import (
    Backend,
    BackendError,
    BackendUnavailable,
    Cache,
    CacheServices,
    CircuitBreaker,
    MemoryBackend,
    Session,
    SessionCache,
)
from qfzz.errors import AuthError
from qfzz.models import Track, TrackMeta
from qfzz.settings import Settings


def track(n: int, title: str) -> Track:
    return Track(n, TrackMeta(f"{title} {n}", "Artist"), playable=True)


class GatedBackend(Backend):
    """A shared backend whose deletes can be held at a gate, then fail or go through."""

    shared = True

    def __init__(self, clock) -> None:
        self.inner = MemoryBackend(clock)
        self.down = False
        self.hold_deletes = False
        self.fail_held = False
        self.holding = threading.Event()
        self.release = threading.Event()

    def execute(self, commands, *, atomic=True):
        if self.hold_deletes and any(c.name == "DEL" for c in commands):
            self.holding.set()
            assert self.release.wait(10)
            if self.fail_held:
                raise BackendUnavailable("timed out")
        if self.down:
            raise BackendUnavailable("connection refused")
        return self.inner.execute(commands, atomic=atomic)

    def delete_matching(self, prefix, pattern):
        if self.down:
            raise BackendUnavailable("connection refused")
        return self.inner.delete_matching(prefix, pattern)


def _cache(backend, clock) -> Cache:
    return Cache(backend, clock=clock, l1=MemoryBackend(clock), breaker=CircuitBreaker(clock))


@pytest.fixture
def stalling_station(own_redis, tmp_path, clock):
    settings = Settings(
        data_dir=tmp_path / "d",
        demo_library=False,
        cache_url=own_redis.url,
        cache_prefix="revoke:",
    )
    station = build_station(settings, clock=clock)
    try:
        yield station
    finally:
        station.close()


def _server_has_session(redis_url: str) -> bool:
    client = redis.Redis.from_url(redis_url)
    try:
        return any(client.scan_iter(match="revoke:session:*"))
    finally:
        client.close()


def test_a_session_revoked_while_the_server_stalls_is_never_served_again(
    stalling_station, own_redis, clock
):
    station, cache = stalling_station, stalling_station.parts.cache
    station.register_listener("ann", {}, password="pw-1234")
    token = station.accounts.login("ann", "pw-1234")
    assert station.accounts.authenticate(token).user_id == "ann"  # cached: L1 and server
    assert _server_has_session(own_redis.url)
    os.kill(own_redis.process.pid, signal.SIGSTOP)
    try:
        for n in range(10):  # requests time out until the circuit opens
            station.parts.caches.tracks.get(n, lambda i: None)
            if cache.circuit_state == "open":
                break
        assert cache.circuit_state == "open"
        station.accounts.logout(token)  # the store forgets the token; the DEL is journaled
    finally:
        os.kill(own_redis.process.pid, signal.SIGCONT)
    assert _server_has_session(own_redis.url)  # the stale copy is still there
    clock.advance(cache.breaker.retry_at - clock())  # the next call may probe the server
    for _ in range(3):  # the first read after recovery included
        with pytest.raises(AuthError):
            station.accounts.authenticate(token)
    for n in range(100, 105):  # any call that reaches the server replays the journal
        station.parts.caches.tracks.get(n, lambda i: None)
        if cache.stats()["journal"] == 0:
            break
    assert cache.circuit_state == "closed" and cache.stats()["journal"] == 0
    assert not _server_has_session(own_redis.url)
    with pytest.raises(AuthError):
        station.accounts.authenticate(token)


def test_a_delete_journaled_below_the_failure_threshold_is_honoured_then_replayed(
    stalling_station, own_redis
):
    station, cache = stalling_station, stalling_station.parts.cache
    station.register_listener("ann", {}, password="pw-1234")
    token = station.accounts.login("ann", "pw-1234")
    assert station.accounts.authenticate(token).user_id == "ann"
    own_redis.kill()
    station.accounts.logout(token)  # one failure: the circuit stays closed, the DEL is journaled
    assert cache.circuit_state == "closed" and cache.stats()["journal"] == 1
    own_redis.start()  # append-only file: the server comes back with the session
    assert _server_has_session(own_redis.url)
    for _ in range(3):
        with pytest.raises(AuthError):
            station.accounts.authenticate(token)
    for n in range(5):  # no outage to recover from: the next call that gets through replays
        station.parts.caches.tracks.get(n, lambda i: None)
        if cache.stats()["journal"] == 0:
            break
    assert cache.stats()["journal"] == 0
    assert not _server_has_session(own_redis.url)


def test_a_namespace_cleared_while_unreachable_is_not_read_back(clock):
    backend = GatedBackend(clock)
    cache = _cache(backend, clock)
    services = CacheServices.build(cache)
    tracks = services.tracks
    tracks.get(1, lambda i: track(i, "Old"))
    backend.down = True
    cache.clear_namespace("track")  # one failure: journaled, the circuit stays closed
    backend.down = False
    assert cache.circuit_state == "closed"
    assert tracks.get(1, lambda i: track(i, "New")).title == "New 1"
    assert cache.stats()["journal"] == 1  # the key is a tombstone: nothing was sent for it
    assert tracks.get(2, lambda i: track(i, "Other")).title == "Other 2"  # the same
    assert (
        services.search.get("main", None, (1, 0), lambda: "a song") == "a song"
    )  # another namespace
    assert cache.stats()["journal"] == 0  # that call got through and replayed the clear
    assert backend.inner.get_fast(tracks.key(1)) is None
    assert tracks.get(1, lambda i: track(i, "Newer")).title == "Newer 1"


def test_the_probe_that_finds_the_server_back_does_not_read_a_revoked_session(clock):
    backend = GatedBackend(clock)
    cache = _cache(backend, clock)
    sessions = SessionCache(cache)
    sessions.put("tok", Session("ann"))
    sessions.put("other", Session("bob"))
    backend.down = True
    for _ in range(3):
        sessions.revoke("tok")  # journaled; the third failure opens the circuit
    assert cache.circuit_state == "open"
    backend.down = False
    clock.advance(cache.breaker.retry_at - clock())
    for _ in range(3):  # the first read after the backoff is the probe
        assert sessions.get("tok", lambda: None) is None
    cache.l1.clear()  # the other session's L1 copy expired: the next read goes to the server
    assert sessions.get("other", lambda: pytest.fail("the server has it")) == Session("bob")
    assert cache.circuit_state == "closed" and cache.stats()["journal"] == 0
    assert backend.inner.get_fast(sessions.key("tok")) is None
    assert sessions.get("tok", lambda: None) is None


@pytest.mark.parametrize("delete_fails", [False, True], ids=["delete-lands", "delete-journaled"])
def test_a_read_that_overlaps_a_revocation_does_not_outlive_it_in_l1(clock, delete_fails):
    backend = GatedBackend(clock)
    cache = _cache(backend, clock)
    sessions = SessionCache(cache)
    sessions.put("tok", Session("ann"))
    cache.l1.clear()  # only the server holds it now (the L1 copy expired)
    backend.hold_deletes, backend.fail_held = True, delete_fails
    revoking = threading.Thread(target=sessions.revoke, args=("tok",))
    revoking.start()
    try:
        assert backend.holding.wait(10)  # revoke() dropped L1 and waits on the server's DEL
        # A read that overlaps the revocation may still see the session...
        assert sessions.get("tok", lambda: None) == Session("ann")
    finally:
        backend.release.set()
        revoking.join(10)
    backend.hold_deletes = False
    # ...but once revoke() has returned, nobody does, not even from L1.
    assert sessions.get("tok", lambda: None) is None
    assert sessions.get("tok", lambda: None) is None


def test_a_logout_between_loading_a_session_and_caching_it_is_not_undone(clock):
    backend = GatedBackend(clock)
    cache = _cache(backend, clock)
    sessions = SessionCache(cache)
    stored = {"tok": Session("ann")}
    loads = 0

    def load() -> Session | None:
        nonlocal loads
        loads += 1
        found = stored.get("tok")
        if loads == 1:  # the logout lands while the store's answer is on its way back
            del stored["tok"]
            sessions.revoke("tok")
        return found

    sessions.get("tok", load)  # overlapped the logout: may see the session once
    assert sessions.get("tok", load) is None
    assert backend.inner.get_fast(sessions.key("tok")) is None


class RefusingBackend(GatedBackend):
    """Up, but refuses one command (as a server does a command on a key of the wrong type)."""

    def __init__(self, clock, refused: str) -> None:
        super().__init__(clock)
        self.refused = refused
        self.refusals = 0

    def execute(self, commands, *, atomic=True):
        if not self.down and any(c.name == self.refused for c in commands):
            self.refusals += 1
            raise BackendError("WRONGTYPE")
        return super().execute(commands, atomic=atomic)


def test_a_journaled_delete_the_server_refuses_is_retried_now_and_then_not_per_call(clock):
    backend = RefusingBackend(clock, "DEL")
    cache = _cache(backend, clock)
    services = CacheServices.build(cache)
    backend.down = True
    services.tracks.invalidate([1])  # journaled
    backend.down = False
    services.search.get(
        "main", None, (1, 0), lambda: "x"
    )  # reaches the server: one replay, refused
    assert backend.refusals == 1 and cache.stats()["journal"] == 1
    for n in range(20):
        services.search.get(f"m{n}", None, (1, 0), lambda: "x")
    assert backend.refusals == 1  # not once per call
    clock.advance(1.0)
    services.search.get("later", None, (1, 0), lambda: "x")
    assert backend.refusals == 2
