"""What an operator chose for the node, and what it counts: plain data the overlay reads."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from qfzz.network import (
    DHT_MEMBERSHIP_TTL,
    DHT_MIN_REACHABILITY,
    DHT_MIN_RECEIPTS,
    Privacy,
    SwimConfig,
)
from qfzz.overlay._replicas import ReplicaConfig
from qfzz.settings import Settings


@dataclass(frozen=True)
class OverlayConfig:
    """What the operator chose (``QFZZ_PUBLIC_HOST``, ``QFZZ_PEERS``, ``QFZZ_DHT_*``…)."""

    public_host: str
    seeds: tuple[str, ...] = ()
    privacy: Privacy = "public"
    asn: str | None = None
    handshake_interval: float = 30.0
    min_receipts: int = DHT_MIN_RECEIPTS
    min_reachability: float = DHT_MIN_REACHABILITY
    membership_ttl: float = DHT_MEMBERSHIP_TTL
    tls_verify: bool | str = True
    handshakes_per_minute: int = 60
    swim_messages_per_second: int = 200
    capabilities: tuple[str, ...] = ("radio", "subsonic")
    swim: SwimConfig = field(default_factory=SwimConfig)
    replicas: ReplicaConfig = field(default_factory=ReplicaConfig)

    @classmethod
    def from_settings(cls, settings: Settings) -> OverlayConfig:
        verify: bool | str = settings.peer_tls_verify
        if verify and settings.peer_ca_file is not None:
            verify = str(settings.peer_ca_file)
        return cls(
            public_host=settings.node_url,
            seeds=tuple(settings.peers),
            privacy=settings.node_privacy,
            asn=settings.node_asn,
            handshake_interval=settings.handshake_interval_sec,
            min_receipts=settings.dht_min_receipts,
            min_reachability=settings.dht_min_reachability,
            membership_ttl=settings.dht_membership_ttl,
            tls_verify=verify,
            replicas=ReplicaConfig(
                r_target=settings.dht_replication_target,
                lease_ttl=settings.dht_lease_ttl,
                heartbeat_interval=settings.dht_heartbeat_interval,
                heartbeat_misses=settings.dht_heartbeat_miss_threshold,
                min_asn=settings.dht_min_asn,
                min_ip_octets=settings.dht_min_ip_octets,
                metric_window_sec=settings.dht_metric_window_sec,
            ),
        )


@dataclass
class OverlayCounters:
    """What the metrics export: every handshake and SWIM message judged, by outcome."""

    handshakes_accepted: int = 0
    handshakes_rejected: Counter[str] = field(default_factory=Counter)
    swim_rejected: Counter[str] = field(default_factory=Counter)
    swim_received: int = 0
    outbound_ok: int = 0
    outbound_failed: int = 0
