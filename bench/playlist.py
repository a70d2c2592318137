"""Playlist generation: QFZZStation.generate_playlist vs two simple alternatives.

For synthetic catalogs of 10k, 100k and 1M tracks this prints the p50 and p99 of a full
``generate_playlist`` (scoring, discovery, composition, reasons, metadata fetch, storing
the playlist) beside two baselines that only score and pick (so they do less work):

* ``numpy``: the best simple implementation, a straightforward vectorised score over the
  same columns (genre, related genre, artist, energy, tempo, mood) held as arrays, and
  ``argpartition`` for the top 20; nothing cached between requests;
* ``naive``: the prototype's loop in Python over every track (at 10k and 100k only);

with the ratio of each to ``generate_playlist`` side by side, and the scoring index's
bytes per track; then the same request with the collaborative models active (track and
artist models, fitted by the station's trainer from 1,000 listeners × 40 plays, the artist
model's weight fixed at 1 so its term is always computed), its p99 while a refit runs in
another thread, the fit's time, and the whole process's resident memory and peak.

    python3 run.py bench playlist [--sizes 10000,100000,1000000]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from _catalog import GENRES, MOODS, fill, synthetic_columns, synthetic_rows
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


def naive_playlist(catalog: list[dict], profile: dict, size: int = 20) -> list[tuple]:
    """The prototype's algorithm: score each track in Python, sort all, take the top
    ``(score, track)`` pairs."""
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
    return scored[:size]


PROFILE = {
    "genres": {"jazz": 0.8, "blues": 0.8},
    "artists": {"Artist 3": 0.8, "Artist 17": 0.8},
    "moods": {"calm": 0.8},
    "energy": 0.5,
    "tempo": 75.0,
}


def numpy_playlist(
    columns: dict[str, np.ndarray], profile: dict, size: int = 20
) -> tuple[np.ndarray, np.ndarray]:
    """The same score as ``naive_playlist``, vectorised: per-value weight tables looked up
    by each track's genre, artist and mood, plus the energy and tempo terms, then the top
    ``size`` rows by ``argpartition``, best first, with their scores. Everything is computed
    afresh for each request."""
    genre_weight = np.zeros(len(GENRES))
    for i, genre in enumerate(GENRES):
        if genre in profile["genres"]:
            genre_weight[i] = profile["genres"][genre] * 0.3
        elif any(genre in RELATED.get(g, ()) for g in profile["genres"]):
            genre_weight[i] = 0.5 * 0.3
    artist_weight = np.zeros(int(columns["artist"].max()) + 1)
    for name, weight in profile["artists"].items():
        number = int(name.removeprefix("Artist "))
        if number < artist_weight.size:
            artist_weight[number] = weight * 0.25
    mood_weight = np.array([profile["moods"].get(m, 0.0) * 0.1 for m in MOODS])
    score = genre_weight[columns["genre"]] + artist_weight[columns["artist"]]
    score += (1.0 - np.abs(columns["energy"] - profile["energy"])) * 0.2
    score += 0.15 * (1 - np.minimum(1.0, np.abs(columns["tempo"] - profile["tempo"]) / 60))
    score += mood_weight[columns["mood"]]
    top = np.argpartition(-score, size)[:size]
    top = top[np.argsort(-score[top], kind="stable")]
    return top, score[top]


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def bench_size(n: int, reps: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        # the artist model's weight fixed, so its term is computed whatever a fit would
        # choose on these synthetic plays (the dearer case)
        settings = Settings(data_dir=Path(tmp), demo_library=False, taste_artist_weight=1.0)
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
    """The whole process's resident memory (``VmRSS``) or its peak (``VmHWM``), MB; where
    there is no /proc (not Linux), the peak from ``getrusage`` for both."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20 if sys.platform == "darwin" else 1024)


def as_ratio(ratio: float) -> str:
    """A ratio as a 6-character column: two significant digits below 10, whole above."""
    return f"{ratio:5.2g}x" if ratio < 10 else f"{ratio:5.0f}x"


def median_ms(action, reps: int) -> float:
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def bench_naive(n: int, reps: int) -> float:
    catalog = synthetic_rows(n)
    return median_ms(lambda: naive_playlist(catalog, PROFILE), reps)


def bench_numpy(n: int, reps: int) -> float:
    columns = synthetic_columns(n)
    if n <= 10_000:  # both baselines pick tracks of the same scores (ties aside)
        naive = [score for score, _ in naive_playlist(synthetic_rows(n), PROFILE)]
        assert np.allclose(naive, numpy_playlist(columns, PROFILE)[1]), "baselines differ"
    return median_ms(lambda: numpy_playlist(columns, PROFILE), reps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        "generate_playlist (whole request) beside the baselines (scoring and top-20 only); "
        "'x' = baseline p50 / generate_playlist p50"
    )
    print(
        f"{'tracks':>9} {'p50 ms':>7} {'p99 ms':>7} {'numpy p50':>10} {'x':>6} "
        f"{'naive p50':>10} {'x':>6} {'bytes/track':>11} {'load s':>6} {'+model p50':>10} "
        f"{'p99':>6} {'p99 in fit':>10} {'fit s':>5} {'RSS MB':>6} {'peak':>6}"
    )
    for n in sizes:
        ours = bench_size(n, reps=300 if n <= 100_000 else 200)
        vectorised = bench_numpy(n, reps=200 if n <= 100_000 else 50)
        naive = bench_naive(n, reps=5 if n <= 10_000 else 3) if n <= 100_000 else None
        naive_text = f"{naive:10.1f} {as_ratio(naive / ours['p50_ms'])}" if naive else f"{'-':>17}"
        print(
            f"{n:>9} {ours['p50_ms']:7.2f} {ours['p99_ms']:7.2f} "
            f"{vectorised:10.2f} {as_ratio(vectorised / ours['p50_ms'])} {naive_text} "
            f"{ours['bytes_per_track']:11.0f} {ours['load_s']:6.2f} "
            f"{ours['model_p50_ms']:10.2f} {ours['model_p99_ms']:6.2f} "
            f"{ours['during_fit_p99_ms']:10.2f} {ours['fit_s']:5.1f} {ours['rss_mb']:6.0f} "
            f"{ours['peak_rss_mb']:6.0f}",
            flush=True,
        )
    print(
        "targets: p50 <= 10 ms at 1M tracks (with the model too); >= 50x the naive loop at "
        "100k; <= 200 bytes per track of index. RSS is the whole process's (index, store, "
        "model, interpreter), read after each size's station ran; peak is the process's "
        "high-water mark so far (a larger earlier size and the fill's rows count in it)"
    )


if __name__ == "__main__":
    main()
