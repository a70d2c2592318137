"""Uploaded content as each viewer may have it, and the licences owners grant.

``GET /api/v1/content.view/{content_address}`` answers anyone (signed in or not): the
content's state and the options this viewer has. ``GET /api/v1/me/contents`` lists the
signed-in listener's own uploads (the web page's upload list). ``POST /api/v1/licenses``
lets the owner or an admin license a listener.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response
from pydantic import BaseModel, Field

from qfzz.api._auth import UserDep, signed_in
from qfzz.api._bounds import UserId
from qfzz.api._deps import StationDep
from qfzz.api._guarded import GuardedRoute
from qfzz.api._ranges import ranged

router = APIRouter(route_class=GuardedRoute, tags=["content"])
MAX_LISTED = 200
ContentAddress = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]


class LicenseIn(BaseModel):
    content_id: str = Field(pattern=r"^[0-9a-f]{64}$")
    user_id: UserId


@router.get("/content.view/{content_address}")
def content_view(
    content_address: ContentAddress,
    station: StationDep,
    authorization: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """The content's status and what this viewer may hear or download."""
    viewer = None if authorization is None else signed_in(station, authorization)
    return dataclasses.asdict(station.content_view(content_address, viewer))


@router.get("/me/contents")
def my_contents(
    station: StationDep,
    user: UserDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LISTED)] = 50,
) -> dict[str, Any]:
    """The signed-in listener's uploads, newest first, each as its owner sees it."""
    views = station.my_contents(user, limit)
    return {"contents": [dataclasses.asdict(view) for view in views]}


@router.get("/content/{content_address}/original")
def content_original(
    content_address: ContentAddress,
    station: StationDep,
    range: Annotated[str | None, Header()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """The original file, decrypted on the fly, for a viewer with a licence (one byte range
    honoured, as players and download managers ask)."""
    viewer = None if authorization is None else signed_in(station, authorization)
    original, media_type = station.content_original(content_address, viewer)
    return ranged(original.size, original.read, media_type, range)


@router.post("/licenses", status_code=201)
def grant_license(body: LicenseIn, station: StationDep, user: UserDep) -> dict[str, Any]:
    """The owner or an admin licenses a listener (``granted``: false if they held one)."""
    granted = station.grant_license(body.content_id, body.user_id, user)
    return {"content_id": body.content_id, "user_id": body.user_id, "granted": granted}
