"""A Prometheus collector over :meth:`Cache.stats`, for ``/metrics``.

Register it once (``REGISTRY.register(CacheCollector(cache))``); every scrape reads the
live counters, so nothing is double-counted and the hot path never touches Prometheus.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from qfzz.cache._core import Cache
from qfzz.cache._stats import BUCKETS

_STATES = ("closed", "open", "half_open")


class CacheCollector:
    def __init__(self, cache: Cache, *, prefix: str = "qfzz_cache") -> None:
        self.cache = cache
        self.prefix = prefix

    def describe(self) -> list[Metric]:
        return []  # collected fresh at every scrape

    def collect(self) -> Iterator[Metric]:
        p = self.prefix
        stats = self.cache.namespace_stats()
        counters = {
            "hits": "lookups answered from the cache (L1 or server)",
            "l1_hits": "lookups answered from the per-process L1",
            "misses": "lookups that went to the store",
            "sets": "values written",
            "invalidations": "keys invalidated",
            "errors": "cache operations that failed (the request went on)",
            "skipped": "server calls not made because the circuit was open",
        }
        for name, help_text in counters.items():
            family = CounterMetricFamily(f"{p}_{name}", help_text, labels=["namespace"])
            for namespace, s in sorted(stats.items()):
                family.add_metric([namespace], getattr(s, name))
            yield family
        latency = HistogramMetricFamily(
            f"{p}_lookup_seconds", "cache lookup latency", labels=["namespace"]
        )
        for namespace, s in sorted(stats.items()):
            cumulative, buckets = 0, []
            for bound, count in zip(BUCKETS, s.latency_buckets, strict=False):
                cumulative += count
                buckets.append((repr(bound), cumulative))
            buckets.append(("+Inf", sum(s.latency_buckets)))
            latency.add_metric([namespace], buckets, s.latency_sum)
        yield latency
        state = GaugeMetricFamily(
            f"{p}_circuit_state", "1 for the circuit breaker's current state", labels=["state"]
        )
        for name in _STATES:
            state.add_metric([name], 1.0 if self.cache.circuit_state == name else 0.0)
        yield state
        yield GaugeMetricFamily(
            f"{p}_journal_entries",
            "writes waiting for the cache server to come back",
            value=len(self.cache.journal),
        )
