"""The resolver as the settings describe it: sources in their configured order, the learned
ranking, and its statistics in their own SQLite file."""

from __future__ import annotations

import random
from collections.abc import Callable

from qfzz.resolver import (
    HttpJsonSource,
    Ranking,
    Resolver,
    Smoothed,
    Source,
    SubsonicSource,
    Thompson,
    Verifier,
)
from qfzz.settings import ResolverSourceConfig, Settings
from qfzz.station import Catalog, Resolving, local_source
from qfzz.store import ResolverStatsRepository, Store


def build_resolving(
    settings: Settings, store: Store, catalog: Catalog, clock: Callable[[], float]
) -> Resolving:
    half_life = settings.resolver_half_life_hours * 3600
    ranking: Ranking = (
        Thompson(random.Random(), half_life_seconds=half_life)
        if settings.resolver_ranking == "thompson"
        else Smoothed(warmup=settings.resolver_warmup_attempts)
    )
    configured = {config.name: config for config in settings.resolver_sources}
    sources: list[Source] = []
    for name in settings.download_sources:
        if name == "local":
            sources.append(local_source(store))
        elif name in configured:
            sources.append(_remote(configured[name], settings))
        # "peers" joins when the overlay starts (build_overlay), which owns the network
    resolver = Resolver(
        sources,
        stats=ResolverStatsRepository(settings.resolver_stats_file, half_life_seconds=half_life),
        ranking=ranking,
        verifier=Verifier(),
        out_dir=settings.data_dir / "resolved",
        clock=clock,
        max_bytes=settings.resolver_max_download_mb * 1024 * 1024,
    )
    return Resolving(store, catalog, resolver)


def _remote(config: ResolverSourceConfig, settings: Settings) -> Source:
    timeout = settings.resolver_timeout_seconds
    if config.kind == "subsonic":
        assert config.user is not None and config.password is not None  # the settings check
        return SubsonicSource(
            config.name,
            config.url,
            config.user,
            config.password.get_secret_value(),
            timeout=timeout,
        )
    return HttpJsonSource(
        config.name,
        config.url,
        config.fields,
        results=config.results,
        refresh_url_template=config.refresh_url,
        duration_scale=config.duration_scale,
        timeout=timeout,
    )
