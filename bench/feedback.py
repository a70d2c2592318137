"""Sustained, durably persisted interactions per second through the station API.

Three ways in, side by side in one run, each on a fresh SQLite store (WAL) with 20k tracks
and 200 listeners; every figure counts only interactions whose call has returned, i.e.
whose transaction has committed:

* one caller, ``record_interaction`` (a commit per call: the naive baseline),
* 32 concurrent callers, ``record_interaction`` (group commit shares each commit),
* ``record_interactions`` in batches of 1,000 (imports, offline clients).

Each row is printed with the target that applies to its path. Only the batch path has a
target here (>= 20,000/s, for bulk imports); the durable target for interactions as
listeners send them, >= 1,000/s over HTTP with 100 connections, is about the API and is
measured end to end by ``bench/api.py`` (its ``interaction`` route); the 32-caller row is
the in-process path under it, without HTTP, so it is an upper bound, not that figure.

    python3 run.py bench feedback [--seconds 5]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from _catalog import fill
from qfzz.app import build_station
from qfzz.settings import Settings
from qfzz.station import QFZZStation

TRACKS, LISTENERS = 20_000, 200
KINDS = ["play", "play", "play", "skip", "like", "dislike", "favorite"]


def new_station(tmp: str) -> QFZZStation:
    station = build_station(Settings(data_dir=Path(tmp), demo_library=False))
    fill(station.parts.store, TRACKS)
    station.start()
    for n in range(LISTENERS):
        station.register_listener(f"user{n}", {"genres": ["jazz"]})
    return station


def events(seed: int, count: int) -> list[tuple[str, int, str, None]]:
    rng = np.random.default_rng(seed)
    users = rng.integers(0, LISTENERS, count)
    tracks = rng.integers(1, TRACKS + 1, count)
    kinds = rng.integers(0, len(KINDS), count)
    rows = zip(users, tracks, kinds, strict=True)
    return [(f"user{u}", int(t), KINDS[k], None) for u, t, k in rows]


def run_threads(station: QFZZStation, threads: int, seconds: float) -> int:
    done = [0] * threads
    stop = time.perf_counter() + seconds

    prepared = [events(n, 20_000) for n in range(threads)]

    def worker(n: int) -> None:
        while True:
            for user, track, kind, rating in prepared[n]:
                station.record_interaction(user, track, kind, rating)
                done[n] += 1
                if done[n] % 50 == 0 and time.perf_counter() > stop:
                    return

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(done)


def run_batches(station: QFZZStation, seconds: float) -> int:
    done = 0
    prepared = [events(seed, 1000) for seed in range(50)]
    stop = time.perf_counter() + seconds
    while time.perf_counter() < stop:
        station.record_interactions(prepared[(done // 1000) % len(prepared)])
        done += 1000
    return done


def measure(label: str, action, seconds: float, target: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        station = new_station(tmp)
        before = station.parts.store.interactions.count()
        start = time.perf_counter()  # includes preparing the events: a conservative rate
        acknowledged = action(station, seconds)
        elapsed = time.perf_counter() - start
        stored = station.parts.store.interactions.count() - before
        station.close()
    assert stored == acknowledged, (stored, acknowledged)
    rate = acknowledged / elapsed
    print(f"{label:<44} {acknowledged:>9} {rate:>12,.0f}/s  {target}", flush=True)
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    print(f"{'path':<44} {'stored':>9} {'rate':>14}  target for this path")
    single = measure(
        "record_interaction, 1 caller",
        lambda s, t: run_threads(s, 1, t),
        args.seconds,
        "none (the baseline: a commit per call)",
    )
    grouped = measure(
        "record_interaction, 32 callers (group commit)",
        lambda s, t: run_threads(s, 32, t),
        args.seconds,
        "none here (in-process; the API's is in bench/api.py)",
    )
    batched = measure(
        "record_interactions, batches of 1000",
        run_batches,
        args.seconds,
        ">= 20,000/s (bulk imports, offline clients)",
    )
    print(
        f"group commit vs 1 caller: {grouped / single:.1f}x; "
        f"batches vs 1 caller: {batched / single:.1f}x; "
        f"batches {'met' if batched >= 20_000 else 'did NOT meet'} their >= 20,000/s"
    )
    print(
        "the durable API target (>= 1,000 interactions/s acknowledged over HTTP with 100 "
        "connections) is measured by `python3 run.py bench api` (route 'interaction')"
    )


if __name__ == "__main__":
    main()
