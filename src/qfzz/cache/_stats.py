"""Per-namespace counters and a latency histogram, cheap enough for every lookup.

The histogram has fixed buckets growing by √2 from 1 µs to about 30 s, so percentiles
are estimated within ±21 % without keeping samples, and the same buckets feed the
Prometheus histogram on ``/metrics``.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass, field

#: Bucket upper bounds in seconds: 1 µs · √2ⁱ, the last one catching everything slower.
BUCKETS: tuple[float, ...] = tuple(1e-6 * 2 ** (i / 2) for i in range(50))


@dataclass(slots=True)
class NamespaceStats:
    """What happened to one cache namespace since the process started."""

    hits: int = 0
    l1_hits: int = 0
    misses: int = 0
    sets: int = 0
    invalidations: int = 0
    errors: int = 0
    skipped: int = 0  # server calls not made because the circuit was open
    latency_buckets: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    latency_sum: float = 0.0

    def observe(self, seconds: float) -> None:
        self.latency_buckets[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.latency_sum += seconds

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile of lookup latency (upper bound of its bucket), in seconds."""
        total = sum(self.latency_buckets)
        if total == 0:
            return None
        rank = q * total
        seen = 0
        for index, count in enumerate(self.latency_buckets):
            seen += count
            if seen >= rank and count:
                return BUCKETS[min(index, len(BUCKETS) - 1)]
        return BUCKETS[-1]

    def snapshot(self) -> dict[str, float | int | None]:
        lookups = self.hits + self.misses
        return {
            "hits": self.hits,
            "l1_hits": self.l1_hits,
            "misses": self.misses,
            "hit_ratio": self.hits / lookups if lookups else None,
            "sets": self.sets,
            "invalidations": self.invalidations,
            "errors": self.errors,
            "skipped": self.skipped,
            "lookups": sum(self.latency_buckets),
            "latency_p50_seconds": self.quantile(0.5),
            "latency_p99_seconds": self.quantile(0.99),
        }


class StatsBook:
    """Thread-safe access to the stats of every namespace."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_namespace: dict[str, NamespaceStats] = {}

    def of(self, namespace: str) -> NamespaceStats:
        stats = self._by_namespace.get(namespace)
        if stats is None:
            with self._lock:
                stats = self._by_namespace.setdefault(namespace, NamespaceStats())
        return stats

    def hit(self, namespace: str, seconds: float, *, l1: bool = False) -> None:
        stats = self.of(namespace)
        with self._lock:
            stats.hits += 1
            stats.l1_hits += l1
            stats.observe(seconds)

    def miss(self, namespace: str, seconds: float) -> None:
        stats = self.of(namespace)
        with self._lock:
            stats.misses += 1
            stats.observe(seconds)

    def count(self, namespace: str, what: str, n: int = 1) -> None:
        stats = self.of(namespace)
        with self._lock:
            setattr(stats, what, getattr(stats, what) + n)

    def copy(self) -> dict[str, NamespaceStats]:
        with self._lock:
            return {
                name: NamespaceStats(
                    s.hits,
                    s.l1_hits,
                    s.misses,
                    s.sets,
                    s.invalidations,
                    s.errors,
                    s.skipped,
                    list(s.latency_buckets),
                    s.latency_sum,
                )
                for name, s in self._by_namespace.items()
            }
