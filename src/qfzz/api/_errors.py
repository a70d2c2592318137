"""The one place where errors become HTTP answers: ``{"error": code, "detail": text}``."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from qfzz.edge import UnknownDevice
from qfzz.errors import (
    AuthError,
    ChainInvalid,
    Forbidden,
    IdempotencyKeyInFlight,
    InvalidDataset,
    InvalidInput,
    ListenerExists,
    QfzzError,
    RateLimited,
    StationNotRunning,
    UnknownJob,
    UnknownListener,
    UnknownMount,
    UnknownTrack,
)

_STATUS: tuple[tuple[type[QfzzError], int], ...] = (
    (AuthError, 401),
    (Forbidden, 403),
    (RateLimited, 429),
    (UnknownListener, 404),
    (UnknownTrack, 404),
    (UnknownMount, 404),
    (UnknownJob, 404),
    (UnknownDevice, 404),
    (ListenerExists, 409),
    (IdempotencyKeyInFlight, 409),
    (StationNotRunning, 503),
    (InvalidInput, 422),
    (InvalidDataset, 422),
    (ChainInvalid, 409),
)


def status_of(error: QfzzError) -> int:
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 500


def error_response(status: int, code: str, detail: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": code, "detail": detail})


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(QfzzError)
    async def _qfzz(_request: Request, exc: QfzzError) -> JSONResponse:
        response = error_response(status_of(exc), exc.code, exc.detail)
        if isinstance(exc, RateLimited):
            response.headers["Retry-After"] = str(exc.retry_after)
        elif isinstance(exc, AuthError):
            response.headers["WWW-Authenticate"] = 'Bearer realm="qfzz"'
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            problems.append(f"{where}: {err.get('msg', 'invalid')}" if where else err["msg"])
        return error_response(422, "invalid_request", "; ".join(problems))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))
