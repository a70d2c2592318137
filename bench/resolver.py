"""Resolver: the fallback order, static vs ``smoothed`` vs ``thompson``, in a simulated world.

10,000 dataset tracks to resolve, from four origins (``qq`` 40 %, ``netease`` 30 %,
``kugou`` 20 %, ``b`` 10 %), with five fallback sources configured in the order
``local, navidrome, peers, jamendo, archive``. Every source has a success rate per origin
that drifts linearly over the run, and a mean latency (each attempt lasts a lognormal
draw around it, σ = 0.5, success or not). Halfway through, ``navidrome`` — the best source
for every origin until then — breaks: its success rate drops to 2 %.

For each track the origin platform is tried first (60 % … 75 % fail; not recorded, as in
the resolver), then the sources in the order :func:`qfzz.resolver.fallback_order` gives,
with the real ranking and the real :class:`qfzz.resolver.ResolverStatsRepository` on a
temporary file, each attempt recorded with :func:`qfzz.resolver.record_attempt`, until one
succeeds. The clock is simulated (no sleeping): it advances by each attempt's duration and
by a gap between tracks (exponential, mean 30 s, so the run spans about four days; the
default 7-day half-life is in force). All three modes see the same world: the same tracks
and, per track and source, the same outcome draw and duration (common random numbers), so
only the order differs.

What is printed, per mode:

* *tries per success*: fallback attempts / tracks resolved by a fallback source (the origin
  attempt, the same in every mode, left out). Target ≤ 1.3 for the best mode.
* *p95 time to resolve*, over resolved tracks (origin attempt included), and as a share of
  the static order's. Target ≤ 60 %.
* *recovery*: per origin, the number of that origin's fallback attempts from the break
  until the first window of 50 consecutive fallback orders (of that origin's tracks) of
  which at least 90 % place ``navidrome`` after the first two places (the design's "top
  two", where it stood before the break in every mode); counted at the window's first
  order, reported for the slowest origin. A window and a share, because Thompson samples:
  one lucky order is not a recovered one, and it keeps exploring a source it has seen
  fail now and then (on purpose: that is how it notices a recovery). "never" when it did
  not happen before the run ended. Target ≤ 200.
* the time spent in the repository (reads and upserts of the side database, real time), per
  call and as a share of the simulated time of the attempts it steers: what the side
  database adds to resolving.

The smoothed ranking keeps the configured order until an origin's fallback attempts reach
1,000 (the design's warmup), so it cannot adapt earlier; what it reaches is printed as is.

    python3 run.py bench resolver [--items 10000] [--seed 1]
"""

from __future__ import annotations

import argparse
import math
import random
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qfzz.models import SOURCE_STATS_MAX_EVIDENCE
from qfzz.resolver import (
    InMemoryStats,
    Ranking,
    Smoothed,
    SourceStats,
    Thompson,
    fallback_order,
    record_attempt,
)
from qfzz.store import ResolverStatsRepository

CONFIGURED = ["local", "navidrome", "peers", "jamendo", "archive"]
BROKEN = "navidrome"
ORIGINS = {"qq": 0.4, "netease": 0.3, "kugou": 0.2, "b": 0.1}
ORIGIN_SUCCESS = {"qq": 0.35, "netease": 0.3, "kugou": 0.25, "b": 0.4}
ORIGIN_SECONDS = 1.5
#: Mean seconds per attempt.
LATENCY = {"local": 0.1, "navidrome": 0.8, "peers": 4.0, "jamendo": 1.2, "archive": 2.0}
#: Success rate per origin and source: (at the start, at the end), linear in between.
RATES: dict[str, dict[str, tuple[float, float]]] = {
    "qq": {
        "local": (0.2, 0.2),
        "navidrome": (0.9, 0.9),
        "peers": (0.5, 0.6),
        "jamendo": (0.3, 0.4),
        "archive": (0.8, 0.85),
    },
    "netease": {
        "local": (0.25, 0.25),
        "navidrome": (0.85, 0.85),
        "peers": (0.6, 0.5),
        "jamendo": (0.7, 0.85),
        "archive": (0.5, 0.45),
    },
    "kugou": {
        "local": (0.1, 0.15),
        "navidrome": (0.9, 0.9),
        "peers": (0.8, 0.8),
        "jamendo": (0.4, 0.35),
        "archive": (0.6, 0.7),
    },
    "b": {
        "local": (0.3, 0.3),
        "navidrome": (0.95, 0.95),
        "peers": (0.4, 0.4),
        "jamendo": (0.6, 0.8),
        "archive": (0.5, 0.5),
    },
}
BROKEN_RATE = 0.02
GAP_SECONDS = 30.0
RECOVERY_WINDOW = 50
RECOVERED_SHARE = 0.9


@dataclass(frozen=True, slots=True)
class Track:
    origin: str
    gap: float
    origin_draw: float
    origin_seconds: float
    draws: dict[str, float]  # source → uniform draw: success when below the rate
    seconds: dict[str, float]  # source → duration of an attempt


def world(items: int, seed: int) -> list[Track]:
    rng = np.random.default_rng(seed)
    names = list(ORIGINS)
    origins = rng.choice(len(names), size=items, p=list(ORIGINS.values()))
    sigma = 0.5
    mu_shift = -(sigma**2) / 2  # lognormal with the given mean

    def durations(mean: float) -> np.ndarray:
        return rng.lognormal(math.log(mean) + mu_shift, sigma, items)

    per_source = {s: (rng.random(items), durations(LATENCY[s])) for s in CONFIGURED}
    gaps = rng.exponential(GAP_SECONDS, items)
    origin_draws = rng.random(items)
    origin_seconds = durations(ORIGIN_SECONDS)
    return [
        Track(
            origin=names[origins[i]],
            gap=float(gaps[i]),
            origin_draw=float(origin_draws[i]),
            origin_seconds=float(origin_seconds[i]),
            draws={s: float(per_source[s][0][i]) for s in CONFIGURED},
            seconds={s: float(per_source[s][1][i]) for s in CONFIGURED},
        )
        for i in range(items)
    ]


def rate(origin: str, source: str, progress: float, broken: bool) -> float:
    if broken and source == BROKEN:
        return BROKEN_RATE
    start, end = RATES[origin][source]
    return start + (end - start) * progress


class Static:
    """The configured order, always (the resolver without learning)."""

    def order(
        self, configured: Sequence[str], stats: Mapping[str, SourceStats], now: float
    ) -> list[str]:
        return list(configured)


class Oracle:
    """What a resolver that knew the world would do: the true current success rates,
    ordered by rate (``per_second=False``) or by rate per mean second. Not a ranking the
    resolver can have; printed so the targets can be read against what is possible."""

    def __init__(self, *, per_second: bool) -> None:
        self.per_second = per_second
        self.world = ("qq", 0.0, False)  # origin, progress, broken: set before each order

    def order(
        self, configured: Sequence[str], stats: Mapping[str, SourceStats], now: float
    ) -> list[str]:
        origin, progress, broken = self.world

        def value(source: str) -> float:
            p = rate(origin, source, progress, broken)
            return p / LATENCY[source] if self.per_second else p

        return sorted(configured, key=lambda source: -value(source))


@dataclass
class Outcome:
    name: str
    fallback_attempts: int = 0
    fallback_successes: int = 0
    resolve_times: list[float] = field(default_factory=list)
    unresolved: int = 0
    recovery: dict[str, int | None] = field(default_factory=dict)
    repo_calls: int = 0
    repo_seconds: float = 0.0
    wall_seconds: float = 0.0
    attempt_seconds: float = 0.0  # simulated: the origin's and the fallbacks' attempts


def simulate(
    name: str, ranking: Ranking, tracks: list[Track], repo: ResolverStatsRepository | InMemoryStats
) -> Outcome:
    out = Outcome(name)
    break_at = len(tracks) // 2
    now = 1_700_000_000.0
    attempts_since_break = dict.fromkeys(ORIGINS, 0)
    window: dict[str, list[tuple[int, bool]]] = {o: [] for o in ORIGINS}
    recovered: dict[str, int | None] = dict.fromkeys(ORIGINS)
    clock = time.perf_counter
    started = clock()
    for n, track in enumerate(tracks):
        now += track.gap
        progress = n / len(tracks)
        broken = n >= break_at
        spent = track.origin_seconds
        now += track.origin_seconds
        out.attempt_seconds += track.origin_seconds
        if track.origin_draw < ORIGIN_SUCCESS[track.origin]:
            out.resolve_times.append(spent)
            continue
        if isinstance(ranking, Oracle):
            ranking.world = (track.origin, progress, broken)
        t0 = clock()
        order = fallback_order(ranking, repo, track.origin, CONFIGURED, now)
        out.repo_seconds += clock() - t0
        out.repo_calls += 1
        if broken and recovered[track.origin] is None:
            origin = track.origin
            window[origin].append((attempts_since_break[origin], BROKEN not in order[:2]))
            recent = window[origin][-RECOVERY_WINDOW:]
            if (
                len(recent) == RECOVERY_WINDOW
                and sum(ok for _, ok in recent) >= RECOVERED_SHARE * RECOVERY_WINDOW
            ):
                recovered[origin] = recent[0][0]
        resolved = False
        for source in order:
            seconds = track.seconds[source]
            success = track.draws[source] < rate(track.origin, source, progress, broken)
            spent += seconds
            now += seconds
            out.attempt_seconds += seconds
            t0 = clock()
            record_attempt(repo, track.origin, source, success, seconds, now)
            out.repo_seconds += clock() - t0
            out.repo_calls += 1
            out.fallback_attempts += 1
            if broken:
                attempts_since_break[track.origin] += 1
            if success:
                resolved = True
                break
        if resolved:
            out.fallback_successes += 1
            out.resolve_times.append(spent)
        else:
            out.unresolved += 1
    out.wall_seconds = clock() - started
    out.recovery = recovered
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--max-evidence",
        type=float,
        default=SOURCE_STATS_MAX_EVIDENCE,
        help="the statistics' evidence cap (qfzz.models.SOURCE_STATS_MAX_EVIDENCE)",
    )
    args = parser.parse_args()
    tracks = world(args.items, args.seed)
    modes: list[tuple[str, Ranking]] = [
        ("static", Static()),
        ("smoothed", Smoothed()),
        ("thompson", Thompson(random.Random(args.seed))),
        ("oracle p", Oracle(per_second=False)),
        ("oracle p/t", Oracle(per_second=True)),
    ]
    results: list[Outcome] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, ranking in modes:
            if isinstance(ranking, Oracle):  # no statistics used: no side database timed
                results.append(simulate(name, ranking, tracks, InMemoryStats()))
                continue
            repo = ResolverStatsRepository(Path(tmp) / f"{name}.db", max_evidence=args.max_evidence)
            results.append(simulate(name, ranking, tracks, repo))
            repo.close()
    counts = {o: sum(t.origin == o for t in tracks) for o in ORIGINS}
    print(
        f"{args.items:,} tracks from {len(ORIGINS)} origins "
        f"({', '.join(f'{o} {c:,}' for o, c in counts.items())}); sources "
        f"{', '.join(CONFIGURED)} (configured order); {BROKEN} breaks at track "
        f"{args.items // 2:,}"
    )
    print()
    static_p95 = float(np.percentile(results[0].resolve_times, 95))
    header = (
        f"{'mode':<10} {'tries/success':>13} {'p95 resolve':>12} {'vs static':>10} "
        f"{'unresolved':>10} {'recovery (slowest origin)':>26}   {'repo µs/call':>12} "
        f"{'repo/attempts':>13}"
    )
    print(header)

    def recovery(o: Outcome) -> int | None:
        values = list(o.recovery.values())
        return None if any(v is None for v in values) else max(v for v in values if v is not None)

    repo_modes = [name for name, ranking in modes if not isinstance(ranking, Oracle)]
    for o in results:
        p95 = float(np.percentile(o.resolve_times, 95))
        rec = recovery(o)
        print(
            f"{o.name:<10} {o.fallback_attempts / max(1, o.fallback_successes):13.2f} "
            f"{p95:10.1f} s {p95 / static_p95:10.0%} {o.unresolved:10,} "
            f"{'never' if rec is None else f'{rec:,} attempts':>26}   "
            + (
                f"{o.repo_seconds / max(1, o.repo_calls) * 1e6:12.0f} "
                f"{o.repo_seconds / o.attempt_seconds:13.3%}"
                if o.name in repo_modes
                else f"{'-':>12} {'-':>13}"
            )
        )
    print()
    for o in results:
        per_origin = ", ".join(
            f"{origin} {'never' if v is None else v}" for origin, v in o.recovery.items()
        )
        print(f"recovery, {o.name}: {per_origin}")
    print(
        "(oracle: the true current rates, no learning — not a mode, what is possible: by "
        "success rate, and by success rate per mean second)"
    )
    learned = results[1:3]
    best_tries = min(learned, key=lambda o: o.fallback_attempts / max(1, o.fallback_successes))
    tries = best_tries.fallback_attempts / max(1, best_tries.fallback_successes)
    best_p95 = min(learned, key=lambda o: float(np.percentile(o.resolve_times, 95)))
    share = float(np.percentile(best_p95.resolve_times, 95)) / static_p95
    recoveries = [(o, recovery(o)) for o in learned]
    finite = [(o, r) for o, r in recoveries if r is not None]
    best_rec = min(finite, key=lambda x: x[1]) if finite else None
    rec_met = best_rec is not None and best_rec[1] <= 200
    print()
    print(
        f"targets: tries per success {tries:.2f} ({best_tries.name}; ≤ 1.3: "
        f"{'met' if tries <= 1.3 else 'NOT met'}), p95 time to resolve {share:.0%} of the "
        f"static order's ({best_p95.name}; ≤ 60%: {'met' if share <= 0.6 else 'NOT met'}), "
        f"recovery after the break "
        + (
            f"{best_rec[1]:,} attempts ({best_rec[0].name}; "
            if best_rec is not None
            else "never (no mode; "
        )
        + f"≤ 200: {'met' if rec_met else 'NOT met'})"
    )
    timed = [o for o in results if o.name in repo_modes]
    repo_share = max(o.repo_seconds / o.attempt_seconds for o in timed)
    repo_us = max(o.repo_seconds / max(1, o.repo_calls) for o in timed) * 1e6
    wall = sum(o.wall_seconds for o in results)
    print(
        f"side database: at most {repo_us:.0f} µs per call, {repo_share:.3%} of the time the "
        f"attempts it orders take (sources answer in {min(LATENCY.values()):.1f}–"
        f"{max(LATENCY.values()):.1f} s on average); {wall:.0f} s of wall-clock for the "
        f"{len(results)} runs"
    )


if __name__ == "__main__":
    main()
