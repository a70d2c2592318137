"""Finding audio for catalog tracks that have none (dataset records), from ranked sources."""

from __future__ import annotations

from qfzz.resolver._ranking import Ranking, Smoothed, Thompson, fallback_order, record_attempt
from qfzz.resolver._stats import InMemoryStats, SourceStats, StatsRepository
from qfzz.resolver._types import Candidate, Source, SourceFailed, Wanted
from qfzz.store import RESOLVER_STATS_FILE, ResolverStatsRepository

__all__ = [
    "RESOLVER_STATS_FILE",
    "Candidate",
    "InMemoryStats",
    "Ranking",
    "ResolverStatsRepository",
    "Smoothed",
    "Source",
    "SourceFailed",
    "SourceStats",
    "StatsRepository",
    "Thompson",
    "Wanted",
    "fallback_order",
    "record_attempt",
]
