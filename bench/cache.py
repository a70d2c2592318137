"""Cache: Zipf(1.1) requests for track metadata and playlists over a 1M-track catalog.

One run, side by side, on one synthetic SQLite store (WAL, in a temporary folder):

* ``store``     the uncached path (``store.tracks.get``, ``store.listeners.playlist``),
* ``embedded``  ``TrackCache``/``PlaylistCache`` on the in-process backend,
* ``redis``     the same on a Redis server with the per-process L1 off (every read is a
  loopback round trip: the figure the ≤ 300 µs target is about),
* ``redis+L1``  the default two-level cache (10k-entry L1 in front of the same server).

Requests are 80 % track metadata, 20 % playlists; tracks are drawn Zipf(1.1) over the
catalog (ranks shuffled over ids), listeners Zipf(1.1) over 10k listeners with stored
playlists. One stream of twice ``--requests`` is drawn: every cached path is warmed by
replaying its first half (each miss loads from the store and is cached, as in service)
and timed on its second half, which asks for popular ids again but also for ids the
warm-up never saw. So hits and misses are what a running station would see, and the hit
ratio of the timed half is printed beside each kind's latency. A cold run (empty embedded
cache, the same timed half) shows the cost of warming up.

The Redis server is started on a free port when ``redis-server`` is installed (and
stopped afterwards), otherwise 127.0.0.1:6379 is used under a unique key prefix.

    python3 run.py bench cache [--tracks 1000000] [--requests 200000]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import redis

from _catalog import fill
from _server import spawn
from qfzz.cache import Cache, PlaylistCache, TrackCache, open_cache
from qfzz.store import Store, StoredPlaylist, open_store
from qfzz.store._schema import listeners, playlists
from qfzz.testing import free_port

LISTENERS = 10_000
TRACK_SHARE = 0.8


def zipf_ranks(rng: np.random.Generator, n_items: int, count: int, s: float = 1.1) -> np.ndarray:
    """``count`` draws from a Zipf(s) law bounded to ``n_items`` ranks (0 = most popular)."""
    weights = np.arange(1, n_items + 1, dtype=np.float64) ** -s
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, rng.random(count)), n_items - 1)


def add_listeners(store: Store, n: int, n_tracks: int) -> None:
    rng = np.random.default_rng(3)
    with store.db.write() as conn:
        conn.execute(
            listeners.insert(),
            [
                {
                    "user_id": f"user{i}",
                    "password_hash": None,
                    "preferences": {},
                    "discovery_factor": 0.2,
                    "energy_level": 0.5,
                    "tempo_preference": "varied",
                    "profile_interactions": 0,
                    "created_at": 0.0,
                }
                for i in range(n)
            ],
        )
        conn.execute(
            playlists.insert(),
            [
                {
                    "user_id": f"user{i}",
                    "generated_at": 0.0,
                    "items": [
                        {"track_id": int(t), "score": 0.5, "reasons": ["genre match"]}
                        for t in rng.integers(1, n_tracks + 1, 20)
                    ],
                }
                for i in range(n)
            ],
        )


@contextmanager
def redis_url() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        yield "redis://127.0.0.1:6379/0"
        return
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"

    def ready() -> bool:
        try:
            return bool(redis.Redis.from_url(url).ping())
        except redis.ConnectionError:
            return False

    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    with spawn([*command, "--appendonly", "no"], ready=ready, name="redis-server"):
        yield url


Request = tuple[bool, int]  # (is_track, track id or listener number)


def requests(n: int, n_tracks: int, seed: int) -> list[Request]:
    rng = np.random.default_rng(seed)
    ids = rng.permutation(n_tracks) + 1  # rank → track id
    tracks = ids[zipf_ranks(rng, n_tracks, n)]
    users = zipf_ranks(rng, LISTENERS, n)
    kinds = rng.random(n) < TRACK_SHARE
    return [
        (bool(k), int(t) if k else int(u)) for k, t, u in zip(kinds, tracks, users, strict=True)
    ]


def run(
    get_track: Callable[[int], object], get_playlist: Callable[[str], object], reqs: list[Request]
) -> dict[str, np.ndarray]:
    times: dict[bool, list[int]] = {True: [], False: []}
    clock = time.perf_counter_ns
    for is_track, n in reqs:
        start = clock()
        if is_track:
            get_track(n)
        else:
            get_playlist(f"user{n}")
        times[is_track].append(clock() - start)
    return {"track": np.array(times[True]), "playlist": np.array(times[False])}


def hit_ratios(cache: Cache, before: dict[str, dict[str, int]]) -> dict[str, float]:
    """Each namespace's hit ratio since ``before`` (L1 and L2 hits both count as hits)."""
    out = {}
    for name in ("track", "playlist"):
        now = cache.stats()["namespaces"].get(name, {})
        hits = int(now.get("hits") or 0) - before.get(name, {}).get("hits", 0)
        misses = int(now.get("misses") or 0) - before.get(name, {}).get("misses", 0)
        out[name] = hits / max(1, hits + misses)
    return out


def counters(cache: Cache) -> dict[str, dict[str, int]]:
    return {
        name: {"hits": int(s["hits"] or 0), "misses": int(s["misses"] or 0)}
        for name, s in cache.stats()["namespaces"].items()
    }


PlaylistView = tuple[str, float, tuple[tuple[int, float, tuple[str, ...]], ...]]


def playlist_view(playlist: StoredPlaylist | None) -> PlaylistView | None:
    """A stored playlist as immutable data (what an API response is built from)."""
    if playlist is None:
        return None
    items = tuple((i["track_id"], i["score"], tuple(i["reasons"])) for i in playlist.items)
    return (playlist.user_id, playlist.generated_at, items)


def cached_run(
    cache: Cache, store: Store, warm: list[Request], timed: list[Request]
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Replay ``warm`` through the cache (untimed), then time ``timed``: its latencies and
    hit ratios."""
    tracks: TrackCache = TrackCache(cache)
    playlists_cache: PlaylistCache[PlaylistView] = PlaylistCache(cache)

    def get_track(i: int) -> object:
        return tracks.get(i, store.tracks.get)

    def get_playlist(user: str) -> object:
        return playlists_cache.get(user, lambda: playlist_view(store.listeners.playlist(user)))

    run(get_track, get_playlist, warm)
    before = counters(cache)
    times = run(get_track, get_playlist, timed)
    return times, hit_ratios(cache, before)


def line(
    name: str, times: dict[str, np.ndarray], ratios: dict[str, float] | None, base: dict
) -> dict[str, float]:
    total_s = sum(t.sum() for t in times.values()) / 1e9
    count = sum(len(t) for t in times.values())
    cells = []
    for kind in ("track", "playlist"):
        t = times[kind] / 1000
        speedup = np.mean(base[kind]) / np.mean(times[kind])
        hit = f"{ratios[kind]:6.1%}" if ratios is not None else f"{'-':>6}"
        cells.append(
            f"{np.percentile(t, 50):8.1f} {np.percentile(t, 99):8.1f} {hit} {speedup:7.1f}x"
        )
    print(f"{name:<22} {cells[0]}   {cells[1]}   {count / total_s:10,.0f}")
    track_us = times["track"] / 1000
    return {
        "p50": float(np.percentile(track_us, 50)),
        "speedup_p50": float(np.percentile(base["track"], 50) / np.percentile(times["track"], 50)),
        "speedup_mean": float(np.mean(base["track"]) / np.mean(times["track"])),
        "hits": ratios["track"] if ratios else 0.0,
        "playlist_hits": ratios["playlist"] if ratios else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--store-requests", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, redis_url() as url:
        store = open_store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        started = time.perf_counter()
        fill(store, args.tracks)
        add_listeners(store, LISTENERS, args.tracks)
        print(
            f"catalog: {args.tracks:,} tracks, {LISTENERS:,} listeners with playlists "
            f"({time.perf_counter() - started:.0f} s to build)"
        )
        stream = requests(2 * args.requests, args.tracks, seed=1)
        warm, timed = stream[: args.requests], stream[args.requests :]
        seen = set(warm)
        new = sum(1 for r in timed if r not in seen)
        print(
            f"requests: {len(stream):,} Zipf(1.1), {TRACK_SHARE:.0%} track metadata; the first "
            f"half warms each cache, the second is timed ({new / len(timed):.1%} of its "
            "requests ask for an id the first half never did)"
        )
        print()
        print(f"{'':<22} {'track metadata (µs)':^35}   {'playlists (µs)':^35}")
        print(
            f"{'path':<22} {'p50':>8} {'p99':>8} {'hits':>6} {'vs store':>8}   "
            f"{'p50':>8} {'p99':>8} {'hits':>6} {'vs store':>8}   {'requests/s':>10}"
        )
        base = run(
            store.tracks.get,
            lambda u: playlist_view(store.listeners.playlist(u)),
            timed[: args.store_requests],
        )
        base_means = {k: v for k, v in base.items()}
        line("store (uncached)", base, None, base_means)

        def cache_options(**extra: object) -> dict:
            return {
                "clock": time.time,
                "types": (StoredPlaylist,),
                **extra,
            }

        cold = open_cache(None, max_entries=250_000, **cache_options())
        times, ratios = cached_run(cold, store, [], timed)
        line("embedded, cold start", times, ratios, base_means)
        embedded = open_cache(None, max_entries=250_000, **cache_options())
        times, ratios = cached_run(embedded, store, warm, timed)
        emb = line("embedded", times, ratios, base_means)
        # each Redis run has its own key prefix: it sees only what its own warm-up cached
        prefixes = [f"bench-{uuid.uuid4().hex[:8]}:" for _ in range(2)]
        l2 = open_cache(url, prefix=prefixes[0], l1_entries=0, **cache_options())
        caches = [cold, embedded, l2]
        try:
            if l2.lookup("track", "probe")[0] is False and l2.circuit_state != "closed":
                print(f"redis: not reachable at {url}; skipped")
                return
            times, ratios = cached_run(l2, store, warm, timed)
            red = line("redis (L2 only)", times, ratios, base_means)
            two_level = open_cache(url, prefix=prefixes[1], **cache_options())
            caches.append(two_level)
            times, ratios = cached_run(two_level, store, warm, timed)
            line("redis + L1 (10k)", times, ratios, base_means)
            print()
            print(
                f"targets: embedded track metadata {emb['speedup_p50']:.0f}x faster at p50 "
                f"({emb['speedup_mean']:.0f}x on the mean) than the store (≥ 20x); "
                f"Redis loopback p50 {red['p50']:.0f} µs (≤ 300 µs); track hit ratio "
                f"{emb['hits']:.1%} embedded, {red['hits']:.1%} Redis (≥ 90%)"
            )
        finally:
            for cache in caches:
                if cache is not cold and cache is not embedded:
                    cache.clear_namespace("track")
                    cache.clear_namespace("playlist")
                cache.close()
            store.close()


if __name__ == "__main__":
    main()
