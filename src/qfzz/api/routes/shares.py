"""Public share pages: ``/share/{id}`` plays shared songs in any browser, no account.

A share (made by a Subsonic app with ``createShare``) is named by a random secret id;
holding the link is the permission to listen. The page is plain server-rendered HTML with
one ``<audio>`` element per song (no script, so it plays even where scripts are blocked);
each element streams ``/share/{id}/tracks/{track_id}``, which serves only the songs of
that share, and only until it expires (then the page answers 410, the stream 410 JSON).
"""

from __future__ import annotations

import html
import mimetypes
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from qfzz.api._bounds import MAX_ID
from qfzz.api._deps import StationDep
from qfzz.api._errors import error_response
from qfzz.api._guarded import GuardedRoute
from qfzz.api._schemas import ErrorOut
from qfzz.errors import NotFound
from qfzz.models import Share, Track
from qfzz.station import QFZZStation, ShareExpired

router = APIRouter(route_class=GuardedRoute, tags=["shares"])

ShareId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
TrackId = Annotated[int, Path(ge=1, le=MAX_ID)]
#: The page runs no script and loads nothing from elsewhere.
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; media-src 'self'; style-src 'unsafe-inline'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}"
    "li{margin:1rem 0;list-style:none}audio{width:100%}.muted{color:#666}"
)


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>"
    )
    return HTMLResponse(document, status_code=status, headers=_HEADERS)


def _open(station: QFZZStation, share_id: str, visit: bool) -> tuple[Share, list[Track]]:
    share = station.collections.shares.public(share_id, visit=visit)
    return share, station.share_tracks(share)


_HTML: dict[str, Any] = {"content": {"text/html": {}}}


@router.get(
    "/share/{share_id}",
    response_class=Response,
    summary="A shared page",
    responses={
        200: {**_HTML, "description": "the share's page: one audio player per song"},
        404: {**_HTML, "description": "no such share"},
        410: {**_HTML, "description": "the share has expired"},
    },
)
async def share_page(share_id: ShareId, station: StationDep) -> Response:
    try:
        share, tracks = await run_in_threadpool(_open, station, share_id, True)
    except ShareExpired:
        return _page("Share expired", "<h1>This share has expired</h1>", 410)
    except NotFound:
        return _page("No such share", "<h1>No such share</h1>", 404)
    title = share.description or f"Music shared by {share.user_id}"
    items = "".join(
        f"<li><strong>{html.escape(t.meta.title)}</strong> "
        f'<span class="muted">{html.escape(t.meta.artist)}'
        f"{' · ' + html.escape(t.meta.album) if t.meta.album else ''}</span><br>"
        f'<audio controls preload="none" src="/share/{share_id}/tracks/{t.track_id}"></audio></li>'
        for t in tracks
    )
    body = (
        f"<h1>{html.escape(title)}</h1>"
        f'<p class="muted">Shared by {html.escape(share.user_id)} from QFZZ</p>'
        f"<ol>{items or '<li>Nothing here can be played any more.</li>'}</ol>"
    )
    return _page(title, body)


@router.get(
    "/share/{share_id}/tracks/{track_id}",
    response_class=Response,
    summary="A shared song's audio",
    responses={
        200: {"content": {"audio/*": {}}, "description": "the song's audio file"},
        410: {"model": ErrorOut, "description": "the share has expired"},
    },
)
async def share_track(share_id: ShareId, track_id: TrackId, station: StationDep) -> Response:
    """The audio file of one song of the share (Range requests work, so players seek)."""
    try:
        _share, tracks = await run_in_threadpool(_open, station, share_id, False)
    except ShareExpired as exc:
        return error_response(410, exc.code, exc.detail)
    found = next((t for t in tracks if t.track_id == track_id), None)
    path = FilePath(found.path) if found is not None and found.path else None
    if path is None or not path.is_file():
        return error_response(404, "not_found", "no such song in this share")
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=kind, headers={"Cache-Control": "no-store"})
