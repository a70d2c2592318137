"""The station as a node of the network: what peers send it and what it tells them.

``GET /api/system.version`` is public and outside ``/api/v1`` (the path peers of every
protocol version know): liveness, the node's id and key, and the record schema it speaks.
``POST /api/v1/network.handshake`` and ``POST /api/v1/network.swim`` hand the raw body to
the ``Overlay``, which verifies, counts and answers (a refusal is a JSON 4xx with its
reason; nothing from it is stored); both are rate-limited per address. The routes are
``async`` on purpose: the overlay's state lives on the event loop, with no lock.
"""

from __future__ import annotations

import asyncio
from pathlib import Path as PathLib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from qfzz.api._auth import UserDep, client_ip
from qfzz.api._deps import StationDep
from qfzz.api._guarded import GuardedRoute
from qfzz.api._schemas import SystemVersionOut
from qfzz.errors import NotFound, StationNotRunning
from qfzz.overlay import Overlay, media_type_of

router = APIRouter(route_class=GuardedRoute, tags=["network"])
swim_router = APIRouter(route_class=GuardedRoute, tags=["network"])


async def _overlay(request: Request) -> Overlay:
    overlay: Overlay | None = getattr(request.app.state, "overlay", None)
    if overlay is None:
        raise StationNotRunning("this station does not run as a network node")
    return overlay


OverlayDep = Annotated[Overlay, Depends(_overlay)]
ContentIdPath = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]


class ShareIn(BaseModel):
    """Tracks of this station to publish to the network, under one licence."""

    track_ids: list[Annotated[int, Field(ge=0, le=2**53)]] = Field(min_length=1, max_length=1000)
    license: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9.+-]+$")


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


@router.get("/api/v1.5/storage/{file_hash}")
async def storage(file_hash: ContentIdPath, request: Request, station: StationDep) -> FileResponse:
    """A stored file by the blake3 of its bytes (ranges honoured): a sealed blob replicas
    copy, or an upload's derivative or sealed original."""
    overlay: Overlay | None = getattr(request.app.state, "overlay", None)
    if overlay is not None and overlay.replicas.blobs.has(file_hash):
        path, media_type = overlay.replicas.blobs.path(file_hash), "application/octet-stream"
    else:
        found = station.content_file(file_hash)
        if found is None:
            raise NotFound("this node stores no such file")
        path, media_type = found
    return FileResponse(path, media_type=media_type)


@router.get("/api/v1/network.content")
async def contents(overlay: OverlayDep) -> dict[str, Any]:
    """The content this node knows: its signed record, and the lease record's holders."""
    return {"content": overlay.replicas.describe()}


@router.get("/api/v1/network.content/{content_id}/audio")
async def content_audio(
    content_id: ContentIdPath, request: Request, overlay: OverlayDep
) -> Response:
    """The audio of a content this node may play: its own, or a replica whose licence lets
    copies be played (the signed record then carries the key)."""
    audio, media_type = overlay.replicas.plaintext(content_id)
    overlay.replicas.record_view(content_id, f"address:{client_ip(request)}")
    return Response(audio, media_type=media_type)


@router.post("/api/v1/network.share", status_code=201)
async def share(
    body: ShareIn, overlay: OverlayDep, station: StationDep, user: UserDep
) -> dict[str, Any]:
    """Publish tracks of this station to the network (admins)."""
    user.require_admin()
    shared = []
    for track_id in dict.fromkeys(body.track_ids):
        track = station.track(track_id)
        if not track.playable or track.path is None:
            raise NotFound(f"track {track_id} has no audio file to share")
        audio = await asyncio.to_thread(PathLib(track.path).read_bytes)
        record = overlay.replicas.share(
            audio,
            media_type=media_type_of(track.path),
            title=track.title,
            artist=track.artist,
            license=body.license,
            track_id=track_id,
            duration=track.meta.duration,
        )
        shared.append({"track_id": track_id, "content_id": record.content_id})
    return {"shared": shared}


@swim_router.post("/api/v1/network.replicate")
async def replicate(request: Request, overlay: OverlayDep) -> dict[str, int]:
    """Content and lease records from a peer (each verified before anything is kept)."""
    return {"changed": overlay.handle_records(await request.body(), client_ip(request))}


@swim_router.post("/api/v1/network.heartbeat")
async def heartbeat(request: Request, overlay: OverlayDep) -> dict[str, int]:
    """A holder's signed heartbeat for contents this node leads."""
    return {"noted": overlay.handle_heartbeat(await request.body(), client_ip(request))}
