from __future__ import annotations

from fastapi import APIRouter

from qfzz.api._deps import StationDep
from qfzz.api._guarded import GuardedRoute
from qfzz.api._schemas import HealthOut

router = APIRouter(route_class=GuardedRoute, tags=["station"])


@router.get("/health", response_model=HealthOut)
def health(station: StationDep) -> HealthOut:
    return HealthOut(**station.health())
