from __future__ import annotations

from fastapi import APIRouter, Response

from qfzz.api._deps import StationDep
from qfzz.api._guarded import GuardedRoute
from qfzz.api._schemas import HealthOut

router = APIRouter(route_class=GuardedRoute, tags=["station"])

#: Seconds a client is told to wait before asking a starting station again.
STARTING_RETRY = 2


@router.get(
    "/health",
    response_model=HealthOut,
    response_model_exclude_none=True,
    responses={503: {"model": HealthOut, "description": "starting: the library is being prepared"}},
)
def health(station: StationDep, response: Response) -> HealthOut:
    """The station's state. While ``qfzz serve`` prepares its library (the port is open
    at once) the answer is 503 ``starting`` with the step and its progress, so a load
    balancer sends no one yet; a browser's page says what it is doing."""
    answer = HealthOut(**station.health())
    if answer.status == "starting":
        response.status_code = 503
        response.headers["Retry-After"] = str(STARTING_RETRY)
    return answer
