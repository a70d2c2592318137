"""Live now-playing and history of a mount as server-sent events.

``GET /api/v1/events?mount=main`` (a shared mount) or ``?mount=personal`` (the caller's
own stream). ``EventSource`` cannot send headers, so besides the bearer token this takes
the signed ``?token=`` of stream URLs. The access check happens once, when the stream
opens; it then only reports what anyone on that mount can hear.

The generator polls the mount once a second — reading the current track is a tuple read,
so it costs nothing — and sends only when the track changes: an ``now`` event, then a
``history`` event. A comment line every 15 s keeps proxies from closing a quiet stream.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from qfzz.api._auth import ListenerDep
from qfzz.api._deps import StationDep
from qfzz.api._guarded import GuardedRoute
from qfzz.api._schemas import HistoryItemOut, NowOut, StreamTrackOut
from qfzz.broadcast import Mount
from qfzz.errors import UnknownMount
from qfzz.station import QFZZStation

router = APIRouter(route_class=GuardedRoute, tags=["web"])

POLL_SECONDS = 1.0
KEEPALIVE_SECONDS = 15.0
HISTORY_SECONDS = 3600.0
HISTORY_LIMIT = 20
#: Tells ``EventSource`` how long to wait before it reconnects (milliseconds).
RETRY_MS = 3000
PERSONAL = "personal"


class Disconnectable(Protocol):
    async def is_disconnected(self) -> bool: ...


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "an event stream"}},
)
async def events(
    request: Request,
    station: StationDep,
    user: ListenerDep,
    mount: Annotated[
        str,
        Query(
            max_length=200, description="a shared mount's name, or 'personal' for your own stream"
        ),
    ] = "main",
) -> StreamingResponse:
    """Now playing and recent history of a mount, pushed as they change."""
    found = _mount(station, user.user_id, mount)
    return StreamingResponse(
        watch(station, found, mount, request),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache, no-store", "X-Accel-Buffering": "no"},
    )


def _mount(station: QFZZStation, user_id: str, name: str) -> Mount:
    station.require_running()
    if name == PERSONAL:
        return station.radio.personal(user_id)
    try:
        return station.radio.mount(name)
    except KeyError:
        names = ", ".join([*station.radio.mount_names, PERSONAL])
        raise UnknownMount(f"no mount {name!r}; mounts: {names}") from None


async def watch(
    station: QFZZStation,
    mount: Mount,
    name: str,
    request: Disconnectable,
    *,
    poll_seconds: float = POLL_SECONDS,
) -> AsyncIterator[str]:
    """The event stream: what is on air now, re-sent with the history on each change."""
    yield f"retry: {RETRY_MS}\n\n"
    last: tuple[int | None, float] | None = None
    quiet = 0.0
    while True:
        playing = mount.now()
        key = (playing.track.track_id if playing.track else None, playing.started_at)
        if key != last:
            last, quiet = key, 0.0
            now = NowOut(
                track=StreamTrackOut.of(playing.track) if playing.track else None,
                started_at=playing.started_at,
                position=round(playing.position, 3),
            )
            yield sse("now", {"mount": name, **now.model_dump()})
            yield sse("history", {"mount": name, "tracks": history(station, mount)})
        elif quiet >= KEEPALIVE_SECONDS:
            quiet = 0.0
            yield ": keepalive\n\n"
        await asyncio.sleep(poll_seconds)
        quiet += poll_seconds
        if await request.is_disconnected():
            return


def history(station: QFZZStation, mount: Mount) -> list[dict[str, Any]]:
    """The tracks that finished in the last hour, newest first."""
    now = station.clock()
    current = mount.now().track
    items = [
        HistoryItemOut(track=StreamTrackOut.of(track), started_at=start, ended_at=end)
        for start, end, track in mount.recent(now - HISTORY_SECONDS, now + 1)
        if track is not current
    ]
    items.sort(key=lambda item: item.started_at, reverse=True)
    return [item.model_dump() for item in items[:HISTORY_LIMIT]]


def sse(event: str, data: object) -> str:
    """One server-sent event; the JSON is on one line, so one ``data:`` field suffices."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
