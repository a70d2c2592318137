from __future__ import annotations

import heapq
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from qfzz.api._auth import UserDep, admin_caller, client_ip
from qfzz.api._bounds import UserPath
from qfzz.api._deps import StationDep
from qfzz.api._guarded import GuardedRoute, before_body
from qfzz.api._idempotency import IdempotencyKeyHeader, answered, key_of
from qfzz.api._rendered import RenderedPlaylists
from qfzz.api._schemas import (
    InteractionIn,
    InteractionOut,
    ListenerIn,
    ListenerOut,
    PlaylistOut,
    ProfileOut,
    StreamKeyInfoOut,
    StreamKeyOut,
)
from qfzz.api._stream_urls import stream_urls
from qfzz.errors import InvalidInput
from qfzz.station import QFZZStation

router = APIRouter(route_class=GuardedRoute, prefix="/listeners", tags=["listeners"])


async def _registration_limit(request: Request) -> None:
    """Sign-ups are counted per address and against the station's password-hashing budget;
    an admin adding listeners (``qfzz listener add`` through the server) is not."""
    if admin_caller(request):
        request.state.by_admin = True
        return
    station: QFZZStation = request.app.state.station
    station.limits.register.hit(f"ip:{client_ip(request)}")
    station.limits.password_budget.hit("station")


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=ListenerOut, max_body_size=128 * 1024
)
@before_body(_registration_limit)
def register(body: ListenerIn, request: Request, station: StationDep) -> ListenerOut:
    """Sign up. Registrations are limited per address, counted before the body is read.
    Only an admin may add a listener without a password."""
    if body.password is None and not getattr(request.state, "by_admin", False):
        raise InvalidInput("a password (4 characters or more) is needed to sign up")
    registration = station.register_listener(
        body.user_id, body.preferences.model_dump(), password=body.password
    )
    return ListenerOut(user_id=registration.user_id, token=registration.token)


@router.get("/{user_id}/playlist", response_model=PlaylistOut)
async def playlist(
    user_id: UserPath,
    request: Request,
    station: StationDep,
    user: UserDep,
    size: Annotated[int | None, Query(ge=1, le=1000)] = None,
    include_unplayable: bool = False,
) -> Response:
    user.require(user_id)
    # A cached playlist is answered on the event loop; making one (the DJ, the store) runs
    # in the thread pool so it never stalls other requests or audio streams.
    generated = None if include_unplayable else station.cached_playlist(user_id, size)
    if generated is None:
        generated = await run_in_threadpool(
            station.playlist, user_id, size, include_unplayable=include_unplayable
        )
    rendered: RenderedPlaylists = request.app.state.rendered_playlists
    capped_at = station.playlist_capped_at(size)  # said, never silent
    return Response(rendered.body(generated, capped_at=capped_at), media_type="application/json")


@router.post(
    "/{user_id}/interactions",
    status_code=status.HTTP_201_CREATED,
    response_model=InteractionOut,
    max_body_size=4096,
)
async def interact(
    user_id: UserPath,
    body: InteractionIn,
    request: Request,
    response: Response,
    station: StationDep,
    user: UserDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> InteractionOut:
    user.require(user_id)
    key = key_of(request, user, idempotency_key, body)
    if key is None:
        done = await station.arecord_interaction(user_id, body.track_id, body.type, body.rating)
    else:
        once = await station.arecord_interaction_once(
            key, user_id, body.track_id, body.type, body.rating
        )
        done = answered(response, once)
    return InteractionOut(
        user_id=done.user_id,
        track_id=done.track_id,
        type=done.type.value,
        rating=done.rating,
        created_at=done.created_at,
    )


#: The strongest weights of each kind a profile answer shows.
PROFILE_TOP = 20


@router.get("/{user_id}/profile", response_model=ProfileOut)
def profile(user_id: UserPath, station: StationDep, user: UserDep) -> ProfileOut:
    """What the DJ has learned of a listener: their strongest weights of each kind (what
    ``qfzz interact`` prints after recording)."""
    user.require(user_id)
    live = station.profile(user_id)
    with live.lock:  # the listener's learning holds it while it changes the tables
        weights = {kind: dict(table) for kind, table in live.weights.items()}
    return ProfileOut(
        user_id=user_id,
        weights={
            kind: dict(heapq.nlargest(PROFILE_TOP, table.items(), key=lambda kv: kv[1]))
            for kind, table in weights.items()
        },
    )


# -- stream keys: player URLs that last until revoked -----------------------------------


@router.post(
    "/{user_id}/stream-key", status_code=status.HTTP_201_CREATED, response_model=StreamKeyOut
)
def create_stream_key(
    user_id: UserPath, request: Request, station: StationDep, user: UserDep
) -> StreamKeyOut:
    """A new stream key (any earlier one stops working), shown this once, with ready-made
    URLs: the shared and personal streams and their .m3u/.pls files, each with ``?key=``."""
    user.require(user_id)
    key = station.accounts.create_stream_key(user_id)
    created = station.accounts.stream_key_info(user_id)
    mount = station.radio.mount_names[0]
    return StreamKeyOut(
        user_id=user_id,
        key=key,
        created_at=created if created is not None else station.clock(),
        urls=stream_urls(str(request.base_url), mount, user_id, [("key", key)]),
    )


@router.get("/{user_id}/stream-key", response_model=StreamKeyInfoOut)
def stream_key_info(user_id: UserPath, station: StationDep, user: UserDep) -> StreamKeyInfoOut:
    """Whether the listener has a stream key and since when; never the key."""
    user.require(user_id)
    created = station.accounts.stream_key_info(user_id)
    return StreamKeyInfoOut(user_id=user_id, exists=created is not None, created_at=created)


@router.delete("/{user_id}/stream-key", status_code=status.HTTP_204_NO_CONTENT)
def revoke_stream_key(user_id: UserPath, station: StationDep, user: UserDep) -> Response:
    """Revoke the stream key: players using it are refused from their next request."""
    user.require(user_id)
    station.accounts.revoke_stream_key(user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
