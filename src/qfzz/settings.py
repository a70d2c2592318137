"""One settings object, read from ``QFZZ_*`` environment variables or passed explicitly.

Only ``qfzz.app`` turns settings into running parts; every other layer receives the values
it needs as constructor arguments, so nothing deep inside reads a global configuration.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_ALLOWED_LICENSE_FAMILIES: tuple[str, ...] = (
    "CC0",
    "PD",
    "CC-BY",
    "CC-BY-SA",
    "CC-BY-NC",
    "CC-BY-NC-SA",
    "CC-BY-ND",
    "CC-BY-NC-ND",
    "ODC-BY",
    "ODBL",
    "PDDL",
)


#: Sources every station has: its own music folders, and the federation's nodes.
BUILT_IN_SOURCES = frozenset({"local", "peers"})


class ResolverSourceConfig(BaseModel):
    """One remote source of the resolver: a Subsonic/OpenSubsonic server, or a JSON search
    endpoint (``url`` is then a template with ``{query}``, ``fields`` maps its answer)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    kind: Literal["subsonic", "http"]
    url: str = Field(min_length=8, max_length=2048)
    user: str | None = Field(default=None, max_length=256)
    password: SecretStr | None = None
    results: str = Field(default="results", max_length=256)
    fields: dict[str, str] = Field(default_factory=dict, max_length=16)
    refresh_url: str | None = Field(default=None, max_length=2048)
    duration_scale: float = Field(default=1.0, gt=0, le=1000)

    @model_validator(mode="after")
    def _complete(self) -> ResolverSourceConfig:
        if self.kind == "subsonic" and (self.user is None or self.password is None):
            raise ValueError(
                f"resolver source {self.name!r}: a Subsonic source needs user and password"
            )
        if self.kind == "http" and "{query}" not in self.url:
            raise ValueError(
                f"resolver source {self.name!r}: the url needs a {{query}} placeholder"
            )
        return self


class Settings(BaseSettings):
    """Everything an operator can configure; the defaults run a station on a laptop."""

    model_config = SettingsConfigDict(env_prefix="QFZZ_", extra="ignore", frozen=True)

    data_dir: Path = Path("qfzz-data")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite in WAL mode in data_dir"
    )
    library: Annotated[list[Path], NoDecode] = Field(
        default_factory=list, description="music folders to scan"
    )
    demo_library: bool = Field(
        default=True, description="create and scan a demo library when no library is set"
    )
    analyse_audio: bool = Field(
        default=True,
        description=(
            "measure energy and tempo from the audio of scanned files whose tags lack them "
            "(under half a second per new or changed file)"
        ),
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)

    max_playlist_size: int = Field(default=20, ge=1, le=1000)
    discovery_factor: float = Field(default=0.2, ge=0.0, le=1.0)
    taste_model_interval_seconds: float = Field(
        default=600.0, gt=0, le=86_400, description="how often the collaborative model refits"
    )
    taste_model_min_interactions: int = Field(
        default=20, ge=1, description="interactions before a collaborative model is fitted"
    )
    taste_artist_weight: float | None = Field(
        default=None,
        ge=0.0,
        le=10.0,
        description="fixed weight of the artist model; unset: chosen at each fit on held-out plays",
    )
    familiarity: float = Field(
        default=0.2,
        ge=0.0,
        le=1.0,
        description="share of a playlist given to tracks the listener knows (the rest: new)",
    )
    seed: int = 0
    recent_plays_window: int = Field(default=50, ge=0)

    allowed_licenses: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_ALLOWED_LICENSE_FAMILIES)
    )
    min_quality: float = Field(default=0.0, ge=0.0, le=1.0)

    enable_blockchain: bool = True
    trust_threshold: float = Field(default=0.3, ge=0.0, le=1.0)
    trust_min_voters: int = Field(
        default=5,
        ge=1,
        le=1_000_000,
        description="distinct listeners' votes before the trust filter judges a track",
    )
    difficulty: int = Field(default=3, ge=0, le=6, description="proof-of-work hex zeros")
    mine_every_records: int = Field(default=100, ge=1)
    mine_every_seconds: float = Field(default=30.0, gt=0)

    mounts: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["main"])
    crossfade_seconds: float = Field(default=3.0, ge=0.0, le=10.0)
    burst_seconds: float = Field(default=4.0, ge=0.0, le=30.0)
    encoder_idle_seconds: float = Field(
        default=10.0,
        ge=0.0,
        le=3600.0,
        description=(
            "how long an encoder outlives its last listener; a personal stream quiet this "
            "long is suspended (its place kept for the listener's return)"
        ),
    )
    stream_buffer_seconds: float = Field(default=30.0, ge=1.0, le=600.0)
    no_repeat_plays: int = Field(
        default=50,
        ge=0,
        le=10_000,
        description=(
            "the shared mounts play no track again within this many plays (fewer when the "
            "playable catalog is smaller: one less than its size)"
        ),
    )

    cache_url: str | None = Field(
        default=None, description="redis://host:6379/0 (Redis, Valkey, DragonflyDB); none: embedded"
    )
    cache_prefix: str = "qfzz:"
    cache_max_entries: int = Field(default=100_000, ge=100)
    cache_l1_entries: int = Field(default=10_000, ge=0)
    cache_l1_ttl: float = Field(default=10.0, ge=0)
    cache_timeout: float = Field(default=0.2, gt=0)

    secret_key: str | None = Field(
        default=None, description="server key; default: a random key in data_dir/secret.key"
    )
    admin_password: str | None = Field(
        default=None, description="on first start, creates the admin listener 'admin'"
    )
    token_ttl_seconds: float = Field(default=30 * 86400, gt=0)
    stream_token_ttl_seconds: float = Field(default=3600, gt=0)
    login_attempts_per_minute: int = Field(default=10, ge=1)
    password_checks_per_second: int = Field(
        default=4,
        ge=1,
        description=(
            "logins and sign-ups per second for the whole station, whatever their address "
            "(each costs an argon2 computation: 64 MiB and about 0.1 s of CPU)"
        ),
    )
    registrations_per_hour: int = Field(default=20, ge=1)

    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For and "
            "X-Forwarded-Proto are believed; empty: the peer address is the client"
        ),
    )
    max_body_kb: int = Field(
        default=64, ge=1, le=1024, description="largest request body of most routes (KiB)"
    )
    max_dataset_body_mb: int = Field(
        default=32, ge=1, le=1024, description="largest dataset import body (MiB, admins)"
    )

    max_content_size_mb: int = Field(
        default=512, ge=1, le=65536, description="largest upload (tus Upload-Length), MiB"
    )
    upload_quota_mb: int = Field(
        default=4096, ge=1, description="bytes a listener may hold in unconverted uploads, MiB"
    )
    upload_expiry_hours: float = Field(
        default=24.0, gt=0, le=24 * 30, description="an unfinished upload idle this long expires"
    )

    peers: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="seed nodes to join on start (URLs, comma separated)"
    )
    node_privacy: Literal["public", "private"] = Field(
        default="public", description="private: joins the network but is never advertised"
    )
    public_host: str | None = Field(
        default=None, description="URL peers reach this node at; default http://HOST:PORT"
    )
    node_asn: str | None = Field(
        default=None, max_length=32, description="this node's ASN label (no lookup offline)"
    )
    handshake_interval_sec: float = Field(default=30.0, ge=0.1, le=3600.0)
    peer_tls_verify: bool = Field(default=True, description="verify peers' TLS certificates")
    peer_ca_file: Path | None = Field(
        default=None, description="CA bundle to verify peers with (default: the system's)"
    )
    dht_min_receipts: int = Field(default=5, ge=1, le=32)
    dht_min_reachability: float = Field(default=0.6, ge=0.0, le=1.0)
    dht_membership_ttl: float = Field(default=600.0, ge=10.0, le=86_400.0)
    dht_replication_target: int = Field(default=3, ge=1, le=16)
    dht_lease_ttl: float = Field(default=600.0, ge=1.0, le=3600.0)
    dht_heartbeat_interval: float = Field(default=60.0, ge=0.1, le=3600.0)
    dht_heartbeat_miss_threshold: int = Field(default=3, ge=1, le=100)
    dht_min_asn: int = Field(default=3, ge=0, le=16)
    dht_min_ip_octets: int = Field(default=3, ge=0, le=16)
    dht_metric_window_sec: int = Field(
        default=3600, ge=60, le=86_400, description="play-metric window; the same on every node"
    )

    convert_max_memory_mb: int = Field(
        default=1024,
        ge=256,
        le=65_536,
        description=(
            "address space of one conversion child (RLIMIT_AS); it counts mapped libraries "
            "and thread stacks, so it sits well above a conversion's peak (~330 MB mapped, "
            "~80 MB resident)"
        ),
    )
    convert_max_cpu_seconds: int = Field(
        default=600, ge=1, le=86_400, description="CPU time of one conversion child (RLIMIT_CPU)"
    )
    convert_timeout_seconds: float = Field(
        default=900.0,
        gt=0,
        le=86_400.0,
        description="wall time after which a conversion child is killed (a stalled read)",
    )
    job_handout_seconds: float = Field(
        default=300.0,
        ge=1.0,
        le=7 * 86_400.0,
        description="how long a worker holds a library job (scan, import, resolver run) "
        "before another may take it, extended every third of it while a scan or resolver "
        "run reports progress: about the time a dead worker's job waits",
    )

    download_sources: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["local"],
        description=(
            "sources the resolver tries, in order (the warm-up order of every origin): "
            "'local', 'peers', or names of resolver_sources"
        ),
    )
    resolver_sources: list[ResolverSourceConfig] = Field(
        default_factory=list,
        description="remote sources as JSON: [{name, kind: subsonic|http, url, ...}]",
    )
    resolver_ranking: Literal["smoothed", "thompson"] = Field(
        default="smoothed", description="how fallback sources are ordered after warm-up"
    )
    resolver_warmup_attempts: int = Field(
        default=1000, ge=0, le=1_000_000, description="fallback attempts per origin before ranking"
    )
    resolver_half_life_hours: float = Field(
        default=168.0, gt=0, le=87_600, description="thompson: how fast old outcomes fade"
    )
    resolver_stats_path: Path | None = Field(
        default=None, description="the resolver's statistics database; default in data_dir"
    )
    resolver_max_download_mb: int = Field(default=200, ge=1, le=4096)
    resolver_timeout_seconds: float = Field(default=20.0, gt=0, le=600)

    log_level: str = "INFO"

    @field_validator(
        "library",
        "allowed_licenses",
        "mounts",
        "trusted_proxies",
        "peers",
        "download_sources",
        mode="before",
    )
    @classmethod
    def _split_comma_list(cls, value: object) -> object:
        """Accept ``QFZZ_LIBRARY=/a,/b`` as well as a JSON list."""
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return json.loads(value)
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses_or_networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"trusted_proxies: {entry!r} is not an IP address or network (CIDR)"
                ) from None
        return value

    @field_validator("peers")
    @classmethod
    def _peer_urls(cls, value: list[str]) -> list[str]:
        return [_base_url(entry, "peers") for entry in value]

    @model_validator(mode="after")
    def _known_download_sources(self) -> Settings:
        named = {source.name for source in self.resolver_sources}
        if len(named) != len(self.resolver_sources):
            raise ValueError("resolver_sources: every source needs its own name")
        if named & BUILT_IN_SOURCES:
            raise ValueError(f"resolver_sources: {sorted(BUILT_IN_SOURCES)} are built in")
        if len(set(self.download_sources)) != len(self.download_sources):
            raise ValueError("download_sources: a source is named twice")
        built_in = ", ".join(sorted(BUILT_IN_SOURCES))
        for name in self.download_sources:
            if name not in named and name not in BUILT_IN_SOURCES:
                raise ValueError(
                    f"download_sources: {name!r} is neither built in ({built_in}) "
                    "nor the name of one of resolver_sources"
                )
        return self

    @property
    def resolver_stats_file(self) -> Path:
        return self.resolver_stats_path or self.data_dir / "resolver_stats.db"

    @field_validator("public_host")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        return None if value is None else _base_url(value, "public_host")

    @property
    def node_url(self) -> str:
        """Where peers reach this node: ``public_host``, else the address it listens on."""
        return self.public_host or f"http://{self.host}:{self.port}"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'qfzz.db').resolve()}"

    @property
    def demo_library_dir(self) -> Path:
        return self.data_dir / "demo-library"


def _base_url(value: str, name: str) -> str:
    """An http(s) base URL without a trailing slash (``host:port`` gets ``http://``)."""
    text = value.strip().rstrip("/")
    if "://" not in text:
        text = f"http://{text}"
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(text) > 300:
        raise ValueError(f"{name}: {value!r} is not an http(s) URL of a node")
    if parts.query or parts.fragment:
        raise ValueError(f"{name}: {value!r} must not carry a query or fragment")
    return text
