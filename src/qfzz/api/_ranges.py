"""One byte range of a body read piece by piece (RFC 9110 §14): what a player seeking in
a file decrypted on the fly asks for. Multiple ranges are answered whole (allowed by the
RFC). The body is never assembled in memory: ``read(start, stop)`` yields its bytes."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from fastapi import Response
from fastapi.responses import StreamingResponse

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def ranged(
    size: int,
    read: Callable[[int, int], Iterator[bytes]],
    media_type: str,
    header: str | None,
) -> Response:
    """200 with the whole body, 206 with the asked range, or 416 for one that lies outside."""
    headers = {"Accept-Ranges": "bytes"}
    match = _RANGE.match(header.strip()) if header else None
    if match is None or (not match.group(1) and not match.group(2)):
        headers["Content-Length"] = str(size)
        return StreamingResponse(read(0, size), media_type=media_type, headers=headers)
    first, last = match.group(1), match.group(2)
    if first:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    else:  # the last N bytes
        start, end = max(0, size - int(last)), size - 1
    if start >= size or start > end:
        headers["Content-Range"] = f"bytes */{size}"
        return Response(status_code=416, headers=headers)
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(end + 1 - start)
    return StreamingResponse(
        read(start, end + 1), status_code=206, media_type=media_type, headers=headers
    )
