from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from qfzz.api._auth import UserDep
from qfzz.api._deps import StationDep
from qfzz.api._guarded import GuardedRoute

router = APIRouter(route_class=GuardedRoute, tags=["operations"])


@router.get("/api/v1/station")
def station_status(station: StationDep, user: UserDep) -> dict[str, Any]:
    """Status and statistics: listeners, tracks, datasets, uptime, mounts, ledger."""
    return station.statistics()


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Prometheus text format."""
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
