"""The station as a node of the network: what peers send it and what it tells them.

``GET /api/system.version`` is public and outside ``/api/v1`` (the path peers of every
protocol version know): liveness, the node's id and key, and the record schema it speaks.
``POST /api/v1/network.handshake`` and ``POST /api/v1/network.swim`` hand the raw body to
the ``Overlay``, which verifies, counts and answers (a refusal is a JSON 4xx with its
reason; nothing from it is stored); both are rate-limited per address. The routes are
``async`` on purpose: the overlay's state lives on the event loop, with no lock.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from qfzz.api._auth import UserDep, client_ip
from qfzz.api._deps import StationDep
from qfzz.api._guarded import GuardedRoute
from qfzz.api._schemas import SystemVersionOut
from qfzz.errors import StationNotRunning
from qfzz.overlay import Overlay

router = APIRouter(route_class=GuardedRoute, tags=["network"])
swim_router = APIRouter(route_class=GuardedRoute, tags=["network"])


async def _overlay(request: Request) -> Overlay:
    overlay: Overlay | None = getattr(request.app.state, "overlay", None)
    if overlay is None:
        raise StationNotRunning("this station does not run as a network node")
    return overlay


OverlayDep = Annotated[Overlay, Depends(_overlay)]


@router.get("/api/system.version", response_model=SystemVersionOut)
def system_version(station: StationDep) -> SystemVersionOut:
    return SystemVersionOut(**station.system_version())


@router.post("/api/v1/network.handshake")
async def handshake(request: Request, overlay: OverlayDep) -> Response:
    """A peer's signed handshake; the answer is this node's signed record, the public
    nodes it can vouch for, and its population estimate."""
    answer = overlay.handle_handshake(await request.body(), client_ip(request))
    return Response(answer, media_type="application/json")


@router.get("/api/v1/network.peers")
async def peers(overlay: OverlayDep, user: UserDep) -> dict[str, Any]:
    """Every member this node knows, with its state and receipts (admins: it lists
    private nodes too)."""
    user.require_admin()
    return {
        "node_id": overlay.node_id,
        "n_estimate": overlay.n_estimate(),
        "peers": [row.__dict__ for row in overlay.peers()],
    }


@swim_router.post("/api/v1/network.swim", status_code=204)
async def swim(request: Request, overlay: OverlayDep) -> Response:
    """One SWIM message (probe, ack, gossip, push-pull) in a signed envelope."""
    overlay.handle_swim(await request.body(), client_ip(request))
    return Response(status_code=204)
