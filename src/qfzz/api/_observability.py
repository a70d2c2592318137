"""Request ids, structured request logs and Prometheus metrics for the HTTP API.

A pure ASGI middleware (no per-request task, no body buffering, so streams are untouched)
gives every request an id — the client's ``X-Request-ID`` or a new one — puts it in a
context variable for the JSON log formatter, returns it as a header, and times the
request under its route template. Streams are excluded from the latency histogram: their
"duration" is how long someone listened.
"""

from __future__ import annotations

import contextvars
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from qfzz.cache import CacheCollector
from qfzz.overlay import Overlay
from qfzz.station import InteractionRecorded, QFZZStation, TracksChanged

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
log = logging.getLogger("qfzz.http")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class Metrics:
    """One registry per app, so several apps (tests) never share counters."""

    def __init__(self, station: QFZZStation, overlay: Overlay | None = None) -> None:
        self.registry = CollectorRegistry()
        self.requests = Histogram(
            "qfzz_http_request_duration_seconds",
            "HTTP request latency by route",
            ["method", "route", "status"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self.playlists = Histogram(
            "qfzz_playlist_generation_seconds",
            "Time to generate a playlist",
            registry=self.registry,
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25),
        )
        self.interactions = Counter(
            "qfzz_interactions",
            "Interactions recorded, by type",
            ["type"],
            registry=self.registry,
        )
        self.catalog_changes = Counter(
            "qfzz_catalog_changes",
            "Tracks added or changed (scans, imports, taken off air) and removed",
            ["change"],
            registry=self.registry,
        )
        self.device_changes = Counter(
            "qfzz_device_changes",
            "Devices registered or re-optimised",
            registry=self.registry,
        )
        self.registry.register(_StationCollector(station))
        self.registry.register(CacheCollector(station.cache))
        if overlay is not None:
            self.registry.register(_OverlayCollector(overlay))
        station.events.listen("playlist_generated", lambda e: self.playlists.observe(e.seconds))
        station.events.listen("interaction_recorded", self._count)
        station.events.listen("tracks_changed", self._count_tracks)
        station.events.listen("device_changed", lambda _event: self.device_changes.inc())

    def _count(self, event: InteractionRecorded) -> None:
        self.interactions.labels(event.interaction.type.value).inc()

    def _count_tracks(self, event: TracksChanged) -> None:
        self.catalog_changes.labels("changed").inc(len(event.changed))
        self.catalog_changes.labels("removed").inc(len(event.removed))


class _StationCollector(Collector):
    """Gauges read from the station at scrape time (nothing to keep in sync)."""

    def __init__(self, station: QFZZStation) -> None:
        self._station = station

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        station = self._station
        listeners = GaugeMetricFamily("qfzz_listeners", "Listeners connected", labels=["mount"])
        encoders = GaugeMetricFamily("qfzz_encoders", "Encoders running", labels=["mount"])
        for mount in station.radio.all_mounts():
            listeners.add_metric([mount.name], mount.listener_count())
            encoders.add_metric([mount.name], len(mount.encoders))
        yield listeners
        yield encoders
        yield GaugeMetricFamily(
            "qfzz_tracks", "Tracks in the catalog", value=station.index.active_count
        )
        ledger = station.ledger_summary()
        yield GaugeMetricFamily(
            "qfzz_ledger_height", "Blocks in the trust ledger", value=ledger.height
        )
        yield GaugeMetricFamily(
            "qfzz_trust_pending_changes",
            "Trust changes not yet mined",
            value=ledger.pending,
        )
        yield GaugeMetricFamily(
            "qfzz_ledger_mining_seconds",
            "Total proof-of-work time",
            value=ledger.mining_seconds,
        )
        yield GaugeMetricFamily(
            "qfzz_ledger_blocks_mined",
            "Blocks mined since start",
            value=ledger.blocks_mined,
        )
        made = station.mounts_made()
        if made is not None:
            making = GaugeMetricFamily(
                "qfzz_mount_made_here",
                "1 for a shared mount this process makes for the station (it holds the lease)",
                labels=["mount"],
            )
            for name in station.radio.mount_names:
                making.add_metric([name], 1.0 if name in made else 0.0)
            yield making
        relayed = station.relay_counts()
        if relayed is not None:  # another process of the station may be telling us things
            yield CounterMetricFamily(
                "qfzz_relay_received",
                "Changes told by the station's other processes and applied here",
                value=relayed[0],
            )
            yield CounterMetricFamily(
                "qfzz_relay_catch_ups",
                "Catch-ups from the store after (re)subscribing to the station's events",
                value=relayed[1],
            )
        ratio = GaugeMetricFamily("qfzz_cache_hit_ratio", "Cache hit ratio", labels=["cache"])
        for name, stats in station.cache_stats().get("caches", {}).items():
            lookups = stats.get("hits", 0) + stats.get("misses", 0)
            ratio.add_metric([name], stats.get("hits", 0) / lookups if lookups else 0.0)
        yield ratio


class _OverlayCollector(Collector):
    """The node's view of the network, read at scrape time from the ``Overlay``."""

    def __init__(self, overlay: Overlay) -> None:
        self._overlay = overlay

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        overlay = self._overlay
        counters = overlay.counters
        members = GaugeMetricFamily(
            "qfzz_network_members", "Other members this node knows, by state", labels=["state"]
        )
        by_state = overlay.members_by_state()
        for state in ("alive", "suspect", "dead", "left", "unprobed"):
            members.add_metric([state], by_state.get(state, 0))
        yield members
        yield GaugeMetricFamily(
            "qfzz_network_n_estimate", "Estimated nodes in the network", value=overlay.n_estimate()
        )
        yield _judged(
            "qfzz_network_handshakes",
            "Handshakes received, accepted or rejected by reason",
            counters.handshakes_accepted,
            counters.handshakes_rejected,
        )
        yield _judged(
            "qfzz_network_swim_messages",
            "SWIM messages received, accepted or rejected by reason",
            counters.swim_received,
            counters.swim_rejected,
        )
        outbound = CounterMetricFamily(
            "qfzz_network_outbound_handshakes",
            "Handshakes this node sent, by outcome",
            labels=["outcome"],
        )
        outbound.add_metric(["ok"], counters.outbound_ok)
        outbound.add_metric(["failed"], counters.outbound_failed)
        yield outbound
        yield CounterMetricFamily(
            "dht_merge_conflicts",
            "Merges that met two different records for one key",
            value=overlay.members.conflicts,
        )
        replicas = overlay.replicas
        under, over = replicas.replication()
        yield GaugeMetricFamily(
            "dht_replication_under", "Contents this node leads with fewer than R holders", under
        )
        yield GaugeMetricFamily(
            "dht_replication_over", "Contents this node leads with more than R holders", over
        )
        yield CounterMetricFamily(
            "dht_leader_changes",
            "Contents this node took over from another leader",
            value=replicas.counters.leader_changes,
        )
        totals = replicas.totals()
        yield CounterMetricFamily(
            "dht_view_count", "Views of known shared content, all nodes", value=totals.views
        )
        yield GaugeMetricFamily(
            "dht_unique_view_estimate", "Distinct viewers of known content", value=totals.uniques
        )
        yield CounterMetricFamily(
            "dht_watch_time_seconds",
            "Listening time of known shared content, all nodes",
            value=totals.watch_seconds,
        )


def _judged(
    name: str, documentation: str, accepted: int, rejected: Mapping[str, int]
) -> CounterMetricFamily:
    """One counter of messages judged: accepted, and rejected by reason."""
    family = CounterMetricFamily(name, documentation, labels=["outcome", "reason"])
    family.add_metric(["accepted", ""], accepted)
    for reason, count in sorted(rejected.items()):
        family.add_metric(["rejected", reason], count)
    return family


def _template(scope: Scope) -> str:
    """The matched route's full path template, e.g. ``/api/v1/listeners/{user_id}/playlist``.

    Included routers keep their prefix apart from their routes, so the prefix is recovered
    from the request path: it is what precedes the route's path with its parameters filled.
    """
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path is None:
        return "unmatched"
    try:
        rendered = path.format(**scope.get("path_params", {}))
    except (KeyError, IndexError, ValueError):
        return str(path)
    full: str = scope["path"]
    return full[: len(full) - len(rendered)] + path if full.endswith(rendered) else str(path)


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        rid = headers.get(b"x-request-id", b"").decode()[:64] or uuid.uuid4().hex
        token = request_id.set(rid)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            template = _template(scope)
            if not template.startswith("/stream") and not template.endswith(("/stream", "/events")):
                self.metrics.requests.labels(scope["method"], template, str(status)).observe(
                    elapsed
                )
                if log.isEnabledFor(logging.INFO):  # skip building the record's extras
                    log.info(
                        "%s %s %d %.1fms",
                        scope["method"],
                        scope["path"],
                        status,
                        elapsed * 1e3,
                        extra={"route": template, "status": status, "ms": round(elapsed * 1e3, 2)},
                    )
            request_id.reset(token)
