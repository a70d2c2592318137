"""Endless audio answered the way Icecast answers it: no chunks, the body ends at close.

uvicorn frames every response that has no ``Content-Length`` with ``Transfer-Encoding:
chunked`` — even to an HTTP/1.0 request, which must never get chunks (RFC 9112 §7.1:
chunked is HTTP/1.1 only), and even when the response says ``Connection: close``. VLC
asks radio streams with HTTP/1.0 and fed the chunk-size lines to its decoder: 1,100–1,700
"emulated startcode" errors in 45 s of MP3, and Opus that stopped after about 8 s.

So a response without a length is sent *close-delimited* (RFC 9112 §6.3, rule 8: the
body is everything until the server closes the connection) when

- the request was HTTP/1.0 — any such response: chunks are not an option there; or
- the application said ``Connection: close`` — QFZZ's stream routes do
  (``qfzz.api.routes.streams.ListenerResponse``), as Icecast does for HTTP/1.1.

Its status line carries the request's version (``HTTP/1.0 200 OK`` to an HTTP/1.0
client, as Icecast answers). Every other response — with a length, or chunked to an
HTTP/1.1 client that did not ask otherwise — is uvicorn's own, byte for byte.

This leans on uvicorn's httptools protocol internals (``RequestResponseCycle`` and
``HttpToolsProtocol._start_asgi_task``), so ``pyproject.toml`` pins the uvicorn releases
it was checked against; ``tests/broadcast/test_icecast_http.py`` speaks raw HTTP/1.0 and
HTTP/1.1 to a live server and fails if a new release changes them.
"""

from __future__ import annotations

import http

from uvicorn._types import ASGI3Application, ASGISendEvent, HTTPResponseStartEvent
from uvicorn.protocols.http.httptools_impl import (
    HEADER_RE,
    HEADER_VALUE_RE,
    HttpToolsProtocol,
    RequestResponseCycle,
)
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string


class _CloseDelimitedCycle(RequestResponseCycle):
    """uvicorn's request/response cycle, except for the responses described above."""

    close_delimited = False

    async def send(self, message: ASGISendEvent) -> None:
        if message["type"] == "http.response.start" and not self.response_started:
            if self._without_length(message):
                await self._start(message)
                return
        elif self.close_delimited and message["type"] == "http.response.body":
            await self._body(message.get("body", b""), message.get("more_body", False))
            return
        await super().send(message)

    def _without_length(self, start: HTTPResponseStartEvent) -> bool:
        status = start["status"]
        if self.scope["method"] == "HEAD" or status in (204, 304) or status < 200:
            return False
        closes = False
        for name, value in start.get("headers", []):
            name = name.lower()
            if name in (b"content-length", b"transfer-encoding"):
                return False
            if name == b"connection":
                closes = closes or b"close" in [t.strip().lower() for t in value.split(b",")]
        return closes or self.scope["http_version"] == "1.0"

    async def _start(self, start: HTTPResponseStartEvent) -> None:
        if self.flow.write_paused and not self.disconnected:
            await self.flow.drain()
        if self.disconnected:
            return
        self.response_started = True
        self.waiting_for_100_continue = False
        self.keep_alive = False
        self.close_delimited = True
        status = start["status"]
        if self.access_log:
            self.access_logger.info(
                '%s - "%s %s HTTP/%s" %d',
                get_client_addr(self.scope),
                self.scope["method"],
                get_path_with_query_string(self.scope),
                self.scope["http_version"],
                status,
            )
        version = b"1.0" if self.scope["http_version"] == "1.0" else b"1.1"
        content = [b"HTTP/%s %d %s\r\n" % (version, status, _phrase(status))]
        for name, value in self.default_headers + list(start.get("headers", [])):
            if HEADER_RE.search(name) or HEADER_VALUE_RE.search(value):
                raise RuntimeError("Invalid HTTP header name or value.")
            name = name.lower()
            if name != b"connection":  # ours, below, is the one that holds
                content.extend([name, b": ", value, b"\r\n"])
        content.append(b"connection: close\r\n\r\n")
        self.transport.write(b"".join(content))

    async def _body(self, body: bytes, more_body: bool) -> None:
        if self.flow.write_paused and not self.disconnected:
            await self.flow.drain()
        if self.disconnected:
            return
        if self.response_complete:
            raise RuntimeError("Unexpected ASGI message after the response completed.")
        if body:
            self.transport.write(body)
        if not more_body:  # the close is the body's end
            self.response_complete = True
            self.message_event.set()
            self.transport.close()
            self.on_response()


def _phrase(status: int) -> bytes:
    try:
        return http.HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""


class IcecastHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol whose cycles frame endless responses as Icecast does.

    Every request's cycle — started at once, or later when pipelined — passes through
    ``_start_asgi_task``; it becomes a :class:`_CloseDelimitedCycle` there (a subclass that
    only overrides ``send``) rather than copying uvicorn's 60-line request parser callback
    that constructs it.
    """

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        cycle.__class__ = _CloseDelimitedCycle
        super()._start_asgi_task(cycle, app)
