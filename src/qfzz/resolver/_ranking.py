"""The order in which fallback sources are tried for a track, learned per origin.

After the origin itself (tried first by the resolver, never ranked nor recorded), the
configured ``download_sources`` are tried in the order a :class:`Ranking` gives, until one
yields an acceptable file. Two rankings:

* :class:`Smoothed`, the design's rule and the default: the configured order during a
  warmup, then the smoothed success rate.
* :class:`Thompson`, which goes beyond it: the smoothed rate only ever learns about the
  sources the top two failed on (selection bias), never forgets a provider that broke,
  and ignores that one source answers in 0.2 s and another in 5 s.

A ranking sees only one origin's statistics (grouping: ``qq``'s ranking never affects
``netease``'s). :func:`fallback_order` and :func:`record_attempt` put the side database
behind a wall: when it fails, an item is resolved in the configured order and its attempts
go unrecorded, with a warning in the log, but the item never fails for it.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Mapping, Sequence
from typing import Protocol

from qfzz.models import SOURCE_STATS_HALF_LIFE, SourceStats
from qfzz.resolver._stats import StatsRepository

__all__ = [
    "Ranking",
    "Smoothed",
    "Thompson",
    "fallback_order",
    "record_attempt",
]

log = logging.getLogger(__name__)


class Ranking(Protocol):
    """Orders the configured sources for one origin's track, best first."""

    def order(
        self, configured: Sequence[str], stats: Mapping[str, SourceStats], now: float
    ) -> list[str]:
        """Every configured source exactly once (a permutation of ``configured``), given
        the origin's statistics (absent sources were never tried)."""
        ...


def _unique(configured: Sequence[str]) -> list[str]:
    """The configured names without repeats, first occurrence kept: trying a source twice
    for one item would only repeat its failure."""
    return list(dict.fromkeys(configured))


class Smoothed:
    """The design's ranking: the configured order until the origin's fallback attempts
    reach ``warmup``, then ``(successes + 1) / (attempts + 2)`` (Laplace's rule of
    succession), the configured order breaking ties.

    "Try the top two first, then the rest in ranked order": the two sources with the
    highest rate are tried first (better one first), and if both fail, the others follow
    by rate, until one succeeds. Spelled out in :meth:`order` as a head of
    :attr:`TOP_FIRST` and a tail; because both are taken from one ranking, the resulting
    list is simply the ranked order. The rule matters for what it rules out: neither
    stopping after the top two, nor falling back to the configured order past them.
    """

    #: How many of the best-ranked sources are tried before the rest.
    TOP_FIRST = 2

    def __init__(self, warmup: int = 1000) -> None:
        if warmup < 0:
            raise ValueError("warmup must be >= 0")
        self.warmup = warmup

    def order(
        self, configured: Sequence[str], stats: Mapping[str, SourceStats], now: float
    ) -> list[str]:
        names = _unique(configured)
        if sum(s.attempts for s in stats.values()) < self.warmup:
            return names
        position = {name: i for i, name in enumerate(names)}
        ranked = sorted(names, key=lambda name: (-self.rate(stats.get(name)), position[name]))
        top, rest = ranked[: self.TOP_FIRST], ranked[self.TOP_FIRST :]
        return top + rest

    @staticmethod
    def rate(stats: SourceStats | None) -> float:
        """The smoothed success rate; 1/2 for a source never tried."""
        if stats is None:
            return 0.5
        return (stats.successes + 1) / (stats.attempts + 2)


class Thompson:
    """Thompson sampling over discounted Beta posteriors, ordered by success per second.

    Each source's success probability is drawn from
    ``Beta(1 + decayed_successes, 1 + decayed_failures)`` (the counts discounted further to
    ``now`` with ``half_life_seconds``; use the repository's half-life), and divided by the
    source's expected seconds per attempt (its moving mean, or ``prior_seconds`` before it
    has one). Trying independent sources in descending ``p / t`` order minimises the
    expected time to the first success; drawing ``p`` instead of using its mean lets a
    source with little or old evidence be tried first now and then, so the order learns
    about every source (no selection bias) and notices when a provider breaks or recovers.
    A source never tried gets the uniform prior and ``prior_seconds``: it is explored.

    Deterministic given ``rng`` (sources are drawn in configured order); the draws of one
    order are taken under a lock, so resolver threads sharing a ranking never interleave
    them.
    """

    def __init__(
        self,
        rng: random.Random,
        half_life_seconds: float = SOURCE_STATS_HALF_LIFE,
        prior_seconds: float = 3.0,
    ) -> None:
        if half_life_seconds <= 0 or prior_seconds <= 0:
            raise ValueError("half_life_seconds and prior_seconds must be > 0")
        self.rng = rng
        self.half_life_seconds = half_life_seconds
        self.prior_seconds = prior_seconds
        self._lock = threading.Lock()

    def order(
        self, configured: Sequence[str], stats: Mapping[str, SourceStats], now: float
    ) -> list[str]:
        names = _unique(configured)
        with self._lock:
            scores = [self._score(stats.get(name), now) for name in names]
        ranked = sorted(range(len(names)), key=lambda i: (-scores[i], i))
        return [names[i] for i in ranked]

    def _score(self, stats: SourceStats | None, now: float) -> float:
        if stats is None:
            return self.rng.betavariate(1.0, 1.0) / self.prior_seconds
        factor = stats.discount(now, self.half_life_seconds)
        p = self.rng.betavariate(
            1.0 + stats.decayed_successes * factor, 1.0 + stats.decayed_failures * factor
        )
        seconds = stats.mean_seconds if stats.mean_seconds is not None else self.prior_seconds
        return p / max(seconds, 1e-3)  # a source answering in 0 s is not infinitely good


def fallback_order(
    ranking: Ranking,
    repo: StatsRepository,
    origin: str,
    configured: Sequence[str],
    now: float,
) -> list[str]:
    """The order to try ``configured`` in for a track from ``origin``; the configured
    order (without repeats) when the statistics cannot be read, whatever the reason."""
    try:
        stats = repo.stats(origin)
    except Exception as exc:  # a failing side database never fails an item
        log.warning(
            "resolver statistics unavailable (%s: %s); configured order for origin %r",
            type(exc).__name__,
            exc,
            origin,
        )
        return _unique(configured)
    return ranking.order(configured, stats, now)


def record_attempt(
    repo: StatsRepository,
    origin: str,
    candidate: str,
    success: bool,
    seconds: float,
    now: float,
) -> None:
    """Record one fallback attempt; a failure to record is logged and otherwise ignored
    (the statistics only steer the order, the item's result stands without them)."""
    try:
        repo.record(origin, candidate, success=success, seconds=seconds, now=now)
    except Exception as exc:  # a failing side database never fails an item
        log.warning(
            "resolver statistics not recorded for %r → %r (%s: %s)",
            origin,
            candidate,
            type(exc).__name__,
            exc,
        )
