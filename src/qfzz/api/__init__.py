"""HTTP frontends: REST v1 (and later Subsonic, streams, metrics). Thin by design:
parse, call the station, render."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from qfzz.api import subsonic, web
from qfzz.api._errors import PlainErrorsAsJson, install_error_handlers
from qfzz.api._observability import Metrics, ObservabilityMiddleware, request_id
from qfzz.api._rendered import RenderedPlaylists
from qfzz.api._schemas import ERROR_RESPONSES
from qfzz.api.routes import (
    auth,
    cache,
    contents,
    datasets,
    devices,
    health,
    jobs,
    listeners,
    network,
    operations,
    shares,
    streams,
    tracks,
    trust,
    uploads,
)
from qfzz.ingest import UploadStore
from qfzz.network import MAX_HANDSHAKE_BYTES, MAX_SWIM_BYTES
from qfzz.overlay import Overlay
from qfzz.station import QFZZStation

__all__ = ["create_api", "request_id"]

KIB = 1024
MIB = 1024 * KIB


def create_api(
    station: QFZZStation,
    *,
    overlay: Overlay | None = None,
    manage_lifecycle: bool = True,
    upload_store: UploadStore | None = None,
) -> FastAPI:
    """The ASGI app around a station; starts and stops it with the server if asked.

    ``overlay``: the station as a network node; its rounds and failure detector run on the
    server's event loop, so it starts and stops with the server (without it, the network
    routes answer 503).

    ``upload_store``: where tus uploads go; default ``data_dir/uploads`` on the station's
    clock, whose finish handler only logs until conversion is plugged in.
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if manage_lifecycle:
            station.start()
        if overlay is not None:
            await overlay.start()
        try:
            yield
        finally:
            if overlay is not None:
                await overlay.stop()
            if manage_lifecycle:
                station.stop()

    settings = station.settings
    app = FastAPI(title="QFZZ", version="0.1.0", lifespan=lifespan)
    app.state.station = station
    app.state.overlay = overlay
    app.state.rendered_playlists = RenderedPlaylists()
    install_error_handlers(app)
    # Every route reads at most this much body (413 before parsing; routes may set less);
    # dataset imports, the one place that needs more, have their own limit. The limits
    # are set per router, not on the app: the app's own limit answers in plain text from
    # outside the error handlers.
    small = settings.max_body_kb * KIB
    for module in (health, auth, listeners, tracks, trust, devices, cache, contents):
        app.include_router(
            module.router, prefix="/api/v1", responses=ERROR_RESPONSES, max_body_size=small
        )
    for module in (datasets, jobs):
        app.include_router(
            module.router,
            prefix="/api/v1",
            responses=ERROR_RESPONSES,
            max_body_size=settings.max_dataset_body_mb * MIB,
        )
    if upload_store is None:
        upload_store = UploadStore(
            settings.data_dir / "uploads",
            clock=station.clock,
            max_size=settings.max_content_size_mb * MIB,
            quota=settings.upload_quota_mb * MIB,
            expiry_seconds=settings.upload_expiry_hours * 3600,
            on_finished=station.upload_finished,
        )
        upload_store.recover()
    app.state.uploads = upload_store
    # A PATCH body is at most the largest upload; the store refuses more than is missing.
    for upload_router in (uploads.router, uploads.legacy_router):
        app.include_router(
            upload_router,
            prefix="/api/v1",
            responses=ERROR_RESPONSES,
            max_body_size=upload_store.max_size,
        )
    app.include_router(streams.router, responses=ERROR_RESPONSES, max_body_size=small)
    app.include_router(operations.router, responses=ERROR_RESPONSES, max_body_size=small)
    app.include_router(shares.router, responses=ERROR_RESPONSES, max_body_size=small)
    # Twice the largest body the overlay accepts: up to there a refusal is the overlay's
    # own, counted by reason; beyond, the framework's 413.
    app.include_router(
        network.router, responses=ERROR_RESPONSES, max_body_size=2 * MAX_HANDSHAKE_BYTES
    )
    app.include_router(
        network.swim_router, responses=ERROR_RESPONSES, max_body_size=2 * MAX_SWIM_BYTES
    )
    app.include_router(subsonic.router, max_body_size=small)
    app.include_router(web.router, max_body_size=small)
    app.state.metrics = Metrics(station, overlay)
    app.add_middleware(PlainErrorsAsJson)
    app.add_middleware(ObservabilityMiddleware, metrics=app.state.metrics)
    return app
