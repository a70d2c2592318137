"""Playlist generation: QFZZStation.generate_playlist vs the prototype's per-track loop.

For synthetic catalogs of 10k, 100k and 1M tracks this prints the p50 and p99 of a full
``generate_playlist`` (scoring, discovery, composition, reasons, metadata fetch, storing
the playlist), the same for the QFZZ design's naive scoring loop (a Python loop over
every track, as the prototype did it) at 10k and 100k, their ratio, and the scoring
index's bytes per track; then the same request with the collaborative model active (fitted
by the station's trainer from 1,000 listeners × 40 plays), its p99 while a refit runs in
another thread, the fit's time, and the whole process's resident memory and peak.

    python3 run.py bench playlist [--sizes 10000,100000,1000000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from _catalog import fill, synthetic_rows
from qfzz.app import build_station
from qfzz.settings import Settings

PREFS = {
    "genres": ["jazz", "blues"],
    "artists": ["Artist 3", "Artist 17"],
    "moods": ["calm"],
    "discovery_factor": 0.2,
    "tempo_preference": "slow",
}
LISTENERS, PLAYS_EACH = 1000, 40
RELATED = {"jazz": ["blues", "soul", "funk", "swing"], "rock": ["punk", "metal", "indie"]}


def naive_playlist(catalog: list[dict], profile: dict, size: int = 20) -> list[dict]:
    """The prototype's algorithm: score each track in Python, sort all, take the top."""
    scored = []
    for track in catalog:
        score = 0.0
        if track["genre"] in profile["genres"]:
            score += profile["genres"][track["genre"]] * 0.3
        elif any(track["genre"] in RELATED.get(g, ()) for g in profile["genres"]):
            score += 0.5 * 0.3
        if track["artist"] in profile["artists"]:
            score += profile["artists"][track["artist"]] * 0.25
        score += (1.0 - abs(track["energy"] - profile["energy"])) * 0.2
        score += 0.15 * (1 - min(1.0, abs(track["tempo"] - profile["tempo"]) / 60))
        if track["mood"] in profile["moods"]:
            score += profile["moods"][track["mood"]] * 0.1
        scored.append((score, track))
    scored.sort(key=lambda x: x[0], reverse=True)
    return [t for _, t in scored[:size]]


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def bench_size(n: int, reps: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), demo_library=False)
        station = build_station(settings)
        t0 = time.perf_counter()
        fill(station.parts.store, n)
        t1 = time.perf_counter()
        station.start()
        t2 = time.perf_counter()
        station.register_listener("bench", PREFS)
        rng = np.random.default_rng(1)
        history = [("bench", int(t), "play", None) for t in rng.integers(1, n, 60)]
        history += [("bench", int(t), "skip", None) for t in rng.integers(1, n, 20)]
        history += [("bench", int(t), "like", None) for t in rng.integers(1, n, 20)]
        station.record_interactions(history)
        for _ in range(5):
            station.generate_playlist("bench")
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            playlist = station.generate_playlist("bench")
            times.append(time.perf_counter() - start)
        assert len(playlist.items) == 20
        scratch = 2 * 4 * n  # the scorer's two float32 work buffers
        result = {
            "n": n,
            "p50_ms": statistics.median(times) * 1e3,
            "p99_ms": percentile(times, 99) * 1e3,
            "bytes_per_track": (station.index.nbytes() + scratch) / n,
            "fill_s": t1 - t0,
            "load_s": t2 - t1,
        }
        result.update(with_model(station, n, reps, rng))
        result["rss_mb"] = rss_mb("VmRSS")
        result["peak_rss_mb"] = rss_mb("VmHWM")
        station.close()
        return result


def with_model(station, n: int, reps: int, rng: np.random.Generator) -> dict[str, float]:
    """The same request with the collaborative model active (fitted by the station's own
    trainer from 1,000 listeners' plays of a popular fifth of the catalog), and while a
    refit runs in another thread: a fit must never block a request."""
    popular = rng.integers(1, max(2, n // 5), size=(LISTENERS, PLAYS_EACH))
    for user, tracks in enumerate(popular):
        station.register_listener(f"l{user}", {})
        station.record_interactions([(f"l{user}", int(t), "play", None) for t in tracks])
    started = time.perf_counter()
    model = station.parts.taste_model.retrain(force=True)
    fit_s = time.perf_counter() - started
    assert model is not None
    for _ in range(5):
        station.generate_playlist("bench")
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        station.generate_playlist("bench")
        times.append(time.perf_counter() - start)
    during: list[float] = []
    refit = threading.Thread(target=lambda: station.parts.taste_model.retrain(force=True))
    refit.start()
    while refit.is_alive():
        start = time.perf_counter()
        station.generate_playlist("bench")
        during.append(time.perf_counter() - start)
    refit.join()
    return {
        "model_p50_ms": statistics.median(times) * 1e3,
        "model_p99_ms": percentile(times, 99) * 1e3,
        "during_fit_p99_ms": percentile(during, 99) * 1e3 if during else float("nan"),
        "fit_s": fit_s,
        "model_items": model.n_items,
    }


def rss_mb(field: str) -> float:
    """The whole process's resident memory (``VmRSS``) or its peak (``VmHWM``), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench_naive(n: int, reps: int) -> float:
    catalog = synthetic_rows(n)
    profile = {
        "genres": {"jazz": 0.8, "blues": 0.8},
        "artists": {"Artist 3": 0.8, "Artist 17": 0.8},
        "moods": {"calm": 0.8},
        "energy": 0.5,
        "tempo": 75.0,
    }
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        naive_playlist(catalog, profile)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"{'tracks':>9} {'p50 ms':>8} {'p99 ms':>8} {'naive p50 ms':>13} {'speed-up':>9} "
        f"{'bytes/track':>12} {'load s':>7} {'+model p50':>11} {'p99':>6} "
        f"{'p99 in fit':>11} {'fit s':>6} {'RSS MB':>7} {'peak':>6}"
    )
    for n in sizes:
        ours = bench_size(n, reps=300 if n <= 100_000 else 200)
        naive = bench_naive(n, reps=5 if n <= 10_000 else 3) if n <= 100_000 else None
        ratio = f"{naive / ours['p50_ms']:8.0f}x" if naive else "        -"
        naive_text = f"{naive:13.1f}" if naive else f"{'-':>13}"
        print(
            f"{n:>9} {ours['p50_ms']:8.2f} {ours['p99_ms']:8.2f} {naive_text} {ratio} "
            f"{ours['bytes_per_track']:12.0f} {ours['load_s']:7.2f} "
            f"{ours['model_p50_ms']:11.2f} {ours['model_p99_ms']:6.2f} "
            f"{ours['during_fit_p99_ms']:11.2f} {ours['fit_s']:6.1f} {ours['rss_mb']:7.0f} "
            f"{ours['peak_rss_mb']:6.0f}",
            flush=True,
        )
    print(
        "targets: p50 <= 10 ms at 1M tracks (with the model too); >= 50x the naive loop at "
        "100k; <= 200 bytes per track of index; RSS is the whole process's (index, store, "
        "model, interpreter)"
    )


if __name__ == "__main__":
    main()
