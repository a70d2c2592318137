"""Audio over HTTP: the shared mounts, personal streams, ICY metadata, now/history,
and the .m3u/.pls playlist files that point players at a stream.

These routes parse the request, authorize it, choose the codec and bitrate, and hand the
listener to a ``qfzz.broadcast.ListenerSession`` (burst, evictions, ICY metadata, bitrate
switches its device pushes). The response writes the session's async generator, so the
server's backpressure reaches the session's reader: a slow client falls behind in the
ring and is moved or let go there, never blocking the encoder or other listeners.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from qfzz.api import _stream_urls as urls
from qfzz.api._auth import ListenerDep, StreamCaller, StreamCallerDep, UserDep
from qfzz.api._bounds import DeviceQuery, NamePath, UserPath
from qfzz.api._deps import StationDep
from qfzz.api._guarded import GuardedRoute
from qfzz.api._schemas import HistoryItemOut, HistoryOut, NowOut, SkipOut, StreamTrackOut
from qfzz.broadcast import METAINT, BitrateFeed, ListenerSession, Mount
from qfzz.errors import InvalidInput, UnknownListener, UnknownMount
from qfzz.station import Principal, QFZZStation

router = APIRouter(route_class=GuardedRoute, tags=["streams"])

Format = Literal["mp3", "opus"]
BITRATES = (96, 128, 256, 320)
_CONTENT_TYPE = {"mp3": "audio/mpeg", "opus": "audio/ogg"}


@dataclass(frozen=True, slots=True)
class StreamQuery:
    """What a player asks of any stream: bitrate, format, device, ICY metadata."""

    bitrate: int | None
    format: Format | None
    device_id: str | None
    icy: bool


async def _stream_query(
    bitrate: Annotated[int | None, Query()] = None,
    format: Annotated[Format | None, Query()] = None,
    device_id: DeviceQuery = None,
    icy_metadata: Annotated[str | None, Header(alias="Icy-MetaData")] = None,
) -> StreamQuery:
    return StreamQuery(bitrate, format, device_id, icy_metadata == "1")


StreamQueryDep = Annotated[StreamQuery, Depends(_stream_query)]


@dataclass(frozen=True, slots=True)
class Choice:
    fmt: Format
    bitrate: int
    device_id: str | None  # set when the device decides the bitrate (it may change)
    user: Principal | None = None  # who listens: only their own device may decide


def _choose(
    station: QFZZStation,
    bitrate: int | None,
    fmt: Format | None,
    device_id: str | None,
    user: Principal,
) -> Choice:
    if bitrate is not None and bitrate not in BITRATES:
        raise InvalidInput(f"bitrate must be one of {BITRATES}")
    if device_id is not None and bitrate is None:
        params = station.device_params(device_id, by=user)  # another's device: Forbidden
        chosen: Format = fmt or ("opus" if params.codec == "opus" else "mp3")
        return Choice(chosen, params.stream_bitrate_kbps, device_id, user)
    return Choice(fmt or "mp3", bitrate or 128, None)


class ListenerResponse(StreamingResponse):
    """An endless audio response with one helper task per listener.

    Starlette's streaming response opens a task group with two tasks and a cancel scope
    for every response, which a thousand radio listeners pay for on connecting and keep
    for as long as they listen. Here one task waits for the client to go; the body is
    written from the request's own task, and a listener that left is noticed at its next
    chunk (within a second) — uvicorn drops writes to a closed connection meanwhile.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gone = asyncio.ensure_future(_disconnected(receive))
        chunks = self.body_iterator
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            async for chunk in chunks:
                if gone.done():
                    return
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            # The server is stopping (a stream never ends by itself, so uvicorn cancels it
            # once its shutdown grace is over): the end of this response, not an error —
            # it is ended as one (the listener's player sees the stream end), its mount
            # left below.
            with contextlib.suppress(Exception):  # the connection may be gone already
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        finally:
            gone.cancel()
            if isinstance(chunks, AsyncGenerator):
                await chunks.aclose()  # leave the mount now, not when collected


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _respond(
    station: QFZZStation, mount: Mount, choice: Choice, icy: bool, request: Request
) -> StreamingResponse:
    fmt, bitrate = choice.fmt, choice.bitrate
    headers = {
        "icy-name": mount.description or mount.name,
        "icy-br": str(bitrate),
        "icy-genre": "Various",
        "icy-description": "QFZZ personalized radio",
        "icy-pub": "0",
        "Cache-Control": "no-cache, no-store",
        # An endless body ends when the connection does, as Icecast sends it: the server
        # (qfzz.app's IcecastHttpProtocol) then writes it without chunk framing, which
        # players such as VLC would otherwise decode as audio.
        "Connection": "close",
    }
    if icy:
        headers["icy-metaint"] = str(METAINT)
    session = ListenerSession(
        mount,
        fmt,
        bitrate,
        icy=icy,
        bitrates=_device_feed(station, choice),
        disconnected=request.is_disconnected,
    )
    return ListenerResponse(session.chunks(), media_type=_CONTENT_TYPE[fmt], headers=headers)


def _device_feed(station: QFZZStation, choice: Choice) -> BitrateFeed | None:
    """The registry's pushes for the listener's device, while the listener may use it."""
    device_id, user = choice.device_id, choice.user
    if device_id is None or user is None:
        return None

    return functools.partial(station.follow_device, device_id, by=user)


# -- playlist files (registered before /stream/{mount}, which would take "main.m3u") ----

_PLAYLIST_TYPES = {"m3u": urls.M3U_TYPE, "pls": urls.PLS_TYPE}
# Documented per file type; errors stay JSON (a plain-text response class would make
# the OpenAPI document claim text/plain for them).
_M3U: dict[int | str, dict[str, Any]] = {
    200: {"content": {urls.M3U_TYPE: {"schema": {"type": "string"}}}, "description": "M3U"}
}
_PLS: dict[int | str, dict[str, Any]] = {
    200: {"content": {urls.PLS_TYPE: {"schema": {"type": "string"}}}, "description": "PLS"}
}


def _playlist(
    title: str,
    path: str,
    station: QFZZStation,
    caller: StreamCaller,
    query: StreamQuery,
    request: Request,
) -> Response:
    """A playlist of one stream URL carrying the caller's credential on to the player.

    The credential is the one this request was authorized with: ``?key=`` (lasting),
    ``?token=`` or Subsonic's — echoed, never a new secret. A caller who sent only a
    bearer header gets a signed stream token (it expires; a stream key does not).
    """
    kind = request.url.path.rsplit(".", 1)[-1]  # the route's literal suffix: m3u or pls
    if query.bitrate is not None and query.bitrate not in BITRATES:
        raise InvalidInput(f"bitrate must be one of {BITRATES}")
    credentials = caller.credentials or (
        ("token", station.accounts.stream_token(caller.principal)),
    )
    asked = [
        (name, str(value))
        for name, value in (
            ("format", query.format),
            ("bitrate", query.bitrate),
            ("device_id", query.device_id),
        )
        if value is not None
    ]
    url = urls.absolute(str(request.base_url), path, [*asked, *credentials])
    body = urls.m3u(title, url) if kind == "m3u" else urls.pls(title, url)
    filename = f"{path.rsplit('/', 1)[-1]}.{kind}"
    return Response(
        body,
        media_type=_PLAYLIST_TYPES[kind],
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",  # it carries a credential
        },
    )


@router.get("/stream/{mount}.m3u", response_class=Response, responses=_M3U)
@router.get("/stream/{mount}.pls", response_class=Response, responses=_PLS)
def shared_playlist(
    mount: NamePath,
    request: Request,
    station: StationDep,
    caller: StreamCallerDep,
    query: StreamQueryDep,
) -> Response:
    """``main.m3u`` / ``main.pls``: the shared mount's URL for players that open files."""
    found = _mount(station, mount)
    title = found.description or f"QFZZ {found.name}"
    return _playlist(title, urls.shared_path(found.name), station, caller, query, request)


@router.get("/api/v1/listeners/{user_id}/stream.m3u", response_class=Response, responses=_M3U)
@router.get("/api/v1/listeners/{user_id}/stream.pls", response_class=Response, responses=_PLS)
def personal_playlist(
    user_id: UserPath,
    request: Request,
    station: StationDep,
    caller: StreamCallerDep,
    query: StreamQueryDep,
) -> Response:
    """``stream.m3u`` / ``stream.pls``: the listener's personal stream for players."""
    caller.principal.require(user_id)
    station.require_running()
    if station.listener(user_id) is None:  # an admin may ask for anyone: say who is missing
        raise UnknownListener(f"no listener {user_id!r}")
    title = f"QFZZ for {user_id}"
    return _playlist(title, urls.personal_path(user_id), station, caller, query, request)


@router.get("/stream/{mount}", response_class=StreamingResponse)
async def shared_stream(
    mount: NamePath,
    request: Request,
    station: StationDep,
    user: ListenerDep,
    query: StreamQueryDep,
) -> StreamingResponse:
    choice = _choose(station, query.bitrate, query.format, query.device_id, user)
    found = _mount(station, mount)
    return _respond(station, found, choice, query.icy, request)


@router.get("/api/v1/listeners/{user_id}/stream", response_class=StreamingResponse)
def personal_stream(
    user_id: UserPath,
    request: Request,
    station: StationDep,
    user: ListenerDep,
    query: StreamQueryDep,
) -> StreamingResponse:
    user.require(user_id)
    station.require_running()
    choice = _choose(station, query.bitrate, query.format, query.device_id, user)
    found = station.radio.personal(user_id)
    return _respond(station, found, choice, query.icy, request)


@router.post("/api/v1/listeners/{user_id}/skip", response_model=SkipOut)
def skip(user_id: UserPath, station: StationDep, user: UserDep) -> SkipOut:
    user.require(user_id)
    skipped = station.radio.skip(user_id)
    return SkipOut(skipped=StreamTrackOut.of(skipped) if skipped else None)


@router.get("/api/v1/stream/{mount}/now", response_model=NowOut)
def now(mount: NamePath, station: StationDep, user: UserDep) -> NowOut:
    playing = _mount(station, mount).now()
    return NowOut(
        track=StreamTrackOut.of(playing.track) if playing.track else None,
        started_at=playing.started_at,
        position=round(playing.position, 3),
    )


@router.get("/api/v1/stream/{mount}/history", response_model=HistoryOut)
def history(
    mount: NamePath,
    station: StationDep,
    user: UserDep,
    start: Annotated[float | None, Query(alias="from", allow_inf_nan=False)] = None,
    end: Annotated[float | None, Query(alias="to", allow_inf_nan=False)] = None,
) -> HistoryOut:
    found = _mount(station, mount)
    now_ = station.clock()
    lo = now_ - 3600 if start is None else start
    hi = now_ + 1 if end is None else end
    if hi < lo:
        raise InvalidInput("'to' must not be before 'from'")
    items = found.recent(lo, hi)
    return HistoryOut(
        mount=mount,
        tracks=[
            HistoryItemOut(track=StreamTrackOut.of(track), started_at=bt, ended_at=tt)
            for bt, tt, track in items
        ],
    )


def _mount(station: QFZZStation, name: str) -> Mount:
    station.require_running()
    try:
        return station.radio.mount(name)
    except KeyError:
        names = ", ".join(station.radio.mount_names)
        raise UnknownMount(f"no mount {name!r}; mounts: {names}") from None
