"""The one place where errors become HTTP answers: ``{"error": code, "detail": text}``.

Every answer of the API is JSON, errors included: QFZZ's own errors map to their status
here; request validation answers 422 with at most ``MAX_PROBLEMS`` problems named (a body
with a million bad items gets one short answer, never one line per item); framework
answers (404, 405 with its ``Allow`` header, 413 for an oversized body) keep their status
and headers; and anything unexpected is logged with an error id and answered with a JSON
500 that carries the same id, so an operator can find the traceback a user reports.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qfzz.cache import UnknownNamespace
from qfzz.edge import DeviceConflict, UnknownDevice
from qfzz.errors import (
    AuthError,
    CatalogError,
    ChainInvalid,
    Forbidden,
    IdempotencyKeyInFlight,
    InvalidDataset,
    InvalidInput,
    ListenerExists,
    NotFound,
    QfzzError,
    RateLimited,
    StationNotRunning,
)

log = logging.getLogger("qfzz.api")

#: At most this many validation problems are described in one 422 answer.
MAX_PROBLEMS = 10

_STATUS: tuple[tuple[type[QfzzError], int], ...] = (
    (AuthError, 401),
    (Forbidden, 403),
    (RateLimited, 429),
    (NotFound, 404),
    (UnknownDevice, 404),
    (UnknownNamespace, 404),
    (ListenerExists, 409),
    (DeviceConflict, 409),
    (IdempotencyKeyInFlight, 409),
    (StationNotRunning, 503),
    (InvalidInput, 422),
    (InvalidDataset, 422),
    (CatalogError, 422),
    (ChainInvalid, 409),
)

#: Codes of the framework's own answers (routing, body limits, parsing).
_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
}


def status_of(error: QfzzError) -> int:
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 500


def error_response(
    status: int, code: str, detail: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        status_code=status, content={"error": code, "detail": detail}, headers=headers
    )


#: Parts of a validation error's location that name a union member, not a field.
_TYPE_TAGS = frozenset({"str", "int", "float", "bool", "none", "list", "dict"})


def _is_type_tag(part: object) -> bool:
    return isinstance(part, str) and (
        part in _TYPE_TAGS or "[" in part or part.startswith(("constrained-", "function-"))
    )


def describe_problems(errors: list[Any]) -> str:
    """A short text naming where the first few validation problems are (never the input)."""
    problems = []
    for err in errors[:MAX_PROBLEMS]:
        loc = err.get("loc", ())
        where = ".".join(str(p) for p in loc if p != "body" and not _is_type_tag(p))
        message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        problems.append(f"{where}: {message}" if where else message)
    if len(errors) > MAX_PROBLEMS:
        problems.append(f"and {len(errors) - MAX_PROBLEMS} more")
    return "; ".join(problems)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route accepts at this path (one route's own list can be partial:
    the Subsonic methods answer GET and POST from two routes)."""
    allowed = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


def unexpected(exc: BaseException, where: str) -> str:
    """Log an unexpected exception under a new error id and return that id."""
    error_id = uuid.uuid4().hex[:16]
    log.error(
        "%s failed (error id %s)", where, error_id, exc_info=exc, extra={"error_id": error_id}
    )
    return error_id


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(QfzzError)
    async def _qfzz(request: Request, exc: QfzzError) -> JSONResponse:
        status = status_of(exc)
        if status == 500:  # a QFZZ error no rule above maps: still a bug somewhere
            error_id = unexpected(exc, f"{request.method} {request.url.path}")
            return error_response(500, exc.code, f"{exc.detail} (error id {error_id})")
        response = error_response(status, exc.code, exc.detail)
        if isinstance(exc, RateLimited):
            response.headers["Retry-After"] = str(exc.retry_after)
        elif isinstance(exc, AuthError):
            response.headers["WWW-Authenticate"] = 'Bearer realm="qfzz"'
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid_request", describe_problems(list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return error_response(exc.status_code, code, str(exc.detail), headers)

    @app.exception_handler(Exception)
    async def _last_resort(request: Request, exc: Exception) -> JSONResponse:
        error_id = unexpected(exc, f"{request.method} {request.url.path}")
        return error_response(
            500, "internal_error", f"unexpected error; quote error id {error_id} to the operator"
        )


class PlainErrorsAsJson:
    """Makes the few framework answers that bypass the handlers JSON like every other.

    Starlette's body limit answers ``413`` in plain text when a route never reads the
    oversized body it was sent (a ``GET`` with a body, a request refused before its body);
    this rewrites any plain-text error answer into ``{"error", "detail"}``, keeping its
    status and headers. Every other answer passes through untouched, streams included.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: Message | None = None
        body = bytearray()

        async def send_json_errors(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                if message["status"] >= 400 and _is_plain_text(message.get("headers", ())):
                    held = message
                    return
            elif held is not None and message["type"] == "http.response.body":
                body.extend(message.get("body", b"")[: 4096 - len(body)])
                if message.get("more_body", False):
                    return
                status = int(held["status"])
                payload = json.dumps(
                    {
                        "error": _HTTP_CODES.get(status, "http_error"),
                        "detail": body.decode("utf-8", "replace").strip(),
                    }
                ).encode()
                headers = [
                    (k, v)
                    for k, v in held.get("headers", ())
                    if k.lower() not in (b"content-type", b"content-length")
                ]
                headers += [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ]
                await send({**held, "headers": headers})
                await send({"type": "http.response.body", "body": payload})
                return
            await send(message)

        await self.app(scope, receive, send_json_errors)


def _is_plain_text(headers: Any) -> bool:
    for key, value in headers:
        if key.lower() == b"content-type":
            return bytes(value).startswith(b"text/plain")
    return False
