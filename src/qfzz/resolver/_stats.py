"""Fallback statistics: what the resolver learned per (origin, candidate source).

The resolver only talks to :class:`StatsRepository`; the station hands in the SQLite side
database (``qfzz.store.ResolverStatsRepository``), tests and the bench's baseline hand in
:class:`InMemoryStats`. Both apply the same update rule
(:func:`qfzz.models.record_source_attempt`), so a ranking behaves the same on either.
"""

from __future__ import annotations

import threading
from typing import Protocol

from qfzz.models import (
    SOURCE_STATS_HALF_LIFE,
    SOURCE_STATS_MAX_EVIDENCE,
    SourceStats,
    record_source_attempt,
)

__all__ = ["InMemoryStats", "SourceStats", "StatsRepository"]


class StatsRepository(Protocol):
    """Where fallback statistics live. Each origin's statistics are separate: recording
    for ``qq`` never changes what ``stats("netease")`` returns."""

    def stats(self, origin: str) -> dict[str, SourceStats]:
        """Candidate source name → its statistics for ``origin`` (absent: never tried)."""
        ...

    def record(
        self, origin: str, candidate: str, *, success: bool, seconds: float, now: float
    ) -> None:
        """One fallback attempt of ``candidate`` for a track from ``origin``."""
        ...


class InMemoryStats:
    """A dict-backed :class:`StatsRepository` (lost with the process), safe across threads."""

    def __init__(
        self,
        *,
        half_life_seconds: float = SOURCE_STATS_HALF_LIFE,
        max_evidence: float = SOURCE_STATS_MAX_EVIDENCE,
    ) -> None:
        if half_life_seconds <= 0 or max_evidence < 1:
            raise ValueError("half_life_seconds must be > 0 and max_evidence >= 1")
        self._half_life = half_life_seconds
        self._max_evidence = max_evidence
        self._lock = threading.Lock()
        self._rows: dict[str, dict[str, SourceStats]] = {}

    def stats(self, origin: str) -> dict[str, SourceStats]:
        with self._lock:
            return dict(self._rows.get(origin, {}))

    def record(
        self, origin: str, candidate: str, *, success: bool, seconds: float, now: float
    ) -> None:
        with self._lock:
            rows = self._rows.setdefault(origin, {})
            rows[candidate] = record_source_attempt(
                rows.get(candidate),
                success=success,
                seconds=seconds,
                now=now,
                half_life_seconds=self._half_life,
                max_evidence=self._max_evidence,
            )
