"""The station as a node of the network: what a peer asks before anything else.

``GET /api/system.version`` is public and outside ``/api/v1`` (the path peers of every
protocol version know): liveness, the node's id and key, and the record schema it speaks.
"""

from __future__ import annotations

from fastapi import APIRouter

from qfzz.api._deps import StationDep
from qfzz.api._guarded import GuardedRoute
from qfzz.api._schemas import SystemVersionOut

router = APIRouter(route_class=GuardedRoute, tags=["network"])


@router.get("/api/system.version", response_model=SystemVersionOut)
def system_version(station: StationDep) -> SystemVersionOut:
    return SystemVersionOut(**station.system_version())
