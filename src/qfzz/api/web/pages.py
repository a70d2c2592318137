"""The page at ``/`` and its static files, read once and served from memory.

Only the files shipped in ``static/`` are served (a fixed table, so no path is ever
joined from the URL). Each answer carries an ETag, so a phone revalidates with a 304
instead of downloading again, and goes out gzipped when the client accepts it (each file
is compressed once, at import). The page carries a strict Content-Security-Policy (no
inline script or style), which keeps the bearer token in ``localStorage`` out of reach
of injected markup. Media may also come from ``blob:`` URLs: the player feeds its stream
through a MediaSource (``static/stream.js``), and a blob URL belongs to the page's origin.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Response

from qfzz.api._encoding import accepts_gzip
from qfzz.api._guarded import GuardedRoute

router = APIRouter(route_class=GuardedRoute, tags=["web"], include_in_schema=False)

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
}
CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self' blob:",  # the player's MediaSource (stream.js)
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    )
)


@dataclass(frozen=True, slots=True)
class StaticFile:
    body: bytes
    gzipped: bytes
    media_type: str
    etag: str


def _load() -> dict[str, StaticFile]:
    found: dict[str, StaticFile] = {}
    for entry in resources.files(__package__).joinpath("static").iterdir():
        suffix = "." + entry.name.rpartition(".")[2]
        if not entry.is_file() or suffix not in CONTENT_TYPES:
            continue
        body = entry.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        squeezed = gzip.compress(body, 9, mtime=0)
        found[entry.name] = StaticFile(body, squeezed, CONTENT_TYPES[suffix], etag)
    return found


FILES = _load()


def _serve(
    name: str, if_none_match: str | None, accept_encoding: str | None, headers: dict[str, str]
) -> Response:
    found = FILES.get(name)
    if found is None:
        raise HTTPException(404, f"no static file {name!r}")
    headers = {
        "ETag": found.etag,
        "Cache-Control": "no-cache",
        "Vary": "Accept-Encoding",
        **headers,
    }
    if if_none_match is not None and found.etag in if_none_match:
        return Response(status_code=304, headers=headers)
    if accepts_gzip(accept_encoding):
        headers["Content-Encoding"] = "gzip"
        return Response(found.gzipped, media_type=found.media_type, headers=headers)
    return Response(found.body, media_type=found.media_type, headers=headers)


IfNoneMatch = Annotated[str | None, Header()]
AcceptEncoding = Annotated[str | None, Header()]


@router.get("/")
def index(if_none_match: IfNoneMatch = None, accept_encoding: AcceptEncoding = None) -> Response:
    return _serve(
        "index.html",
        if_none_match,
        accept_encoding,
        {
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


@router.get("/static/{name}")
def static(
    name: str, if_none_match: IfNoneMatch = None, accept_encoding: AcceptEncoding = None
) -> Response:
    return _serve(name, if_none_match, accept_encoding, {"X-Content-Type-Options": "nosniff"})
