"""One route for every method: parse parameters, authenticate, dispatch, render."""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from qfzz.api._auth import client_ip
from qfzz.api._encoding import accepts_gzip
from qfzz.api._guarded import GuardedRoute
from qfzz.api._json import loads_bounded
from qfzz.api.subsonic import (  # noqa: F401  (each module registers its methods)
    _annotate,
    _bookmarks,
    _browse,
    _lists,
    _lyrics,
    _media,
    _playlists,
    _shares,
    _system,
    _transcode,
)
from qfzz.api.subsonic._call import Call, Params, authenticate
from qfzz.api.subsonic._errors import SubsonicNotFound, subsonic_error
from qfzz.api.subsonic._registry import HANDLERS
from qfzz.api.subsonic._render import failed, render
from qfzz.errors import InvalidInput, RateLimited
from qfzz.station import Principal, QFZZStation

router = APIRouter(route_class=GuardedRoute, tags=["subsonic"])
#: OpenSubsonic: clients discover extensions before they have credentials.
NO_AUTH = frozenset({"getOpenSubsonicExtensions"})
ANONYMOUS = Principal("", "anonymous")
MAX_BODY = 1 << 20
#: Most fields one form body may carry (playlist edits send one per song).
MAX_PARAMS = 10_000


async def _params(request: Request) -> tuple[Params, object]:
    """Query and form parameters merged, and a JSON body if one was sent.

    The body was limited to ``MAX_BODY`` bytes by the route (counted as it arrives), a form
    to ``MAX_PARAMS`` fields, and JSON to ``qfzz.api._json.MAX_DEPTH`` levels.
    """
    params: Params = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    body: object = None
    if request.method == "POST":
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            raw = await request.body()
        except HTTPException as exc:
            raise InvalidInput(f"the request body is over {MAX_BODY} bytes") from exc
        if kind == "application/x-www-form-urlencoded":
            form = parse_qs(raw.decode("utf-8", "replace"), max_num_fields=MAX_PARAMS)
            for key, values in form.items():
                params.setdefault(key, []).extend(values)
        elif kind == "application/json" and raw:
            body = loads_bounded(raw)
    return params, body


_DOC = {
    "summary": "Subsonic / OpenSubsonic API",
    "description": (
        "Any Subsonic method, as `/rest/<method>` or `/rest/<method>.view`. Authenticate "
        "with `u` and `t`+`s` (md5 of the app password and salt), `p`, or `apiKey`. "
        "Answers XML by default, JSON with `f=json`, JSONP with `f=jsonp&callback=`."
    ),
}


@router.get(
    "/rest/{method}",
    response_class=Response,
    operation_id="subsonic_get",
    max_body_size=MAX_BODY,
    **_DOC,  # type: ignore[arg-type]
)
@router.post(
    "/rest/{method}",
    response_class=Response,
    operation_id="subsonic_post",
    max_body_size=MAX_BODY,
    **_DOC,  # type: ignore[arg-type]
)
async def subsonic(method: str, request: Request) -> Response:
    query = request.query_params
    fmt, callback = query.get("f", "xml"), query.get("callback") or None
    station: QFZZStation = request.app.state.station
    name = method.removesuffix(".view")
    try:
        params, body = await _params(request)
        fmt = (params.get("f") or ["xml"])[0]
        callback = params.get("callback", [""])[0] or None
        handler = HANDLERS.get(name)
        if handler is None:
            raise SubsonicNotFound(f"unknown method {name!r}")
        if name in NO_AUTH:
            user = ANONYMOUS
        else:
            user = await run_in_threadpool(
                authenticate,
                station,
                params,
                client_ip(request),
                name,
                request.headers.get("authorization"),
            )
        call = Call(
            station,
            params,
            user,
            str(request.base_url).rstrip("/"),
            body,
            accepts_gzip=accepts_gzip(request.headers.get("accept-encoding")),
        )
        result = await run_in_threadpool(handler, call)
    except Exception as exc:
        code, message = subsonic_error(exc)
        response = failed(code, message, fmt, callback)
        if isinstance(exc, RateLimited):
            response.status_code = 429
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(result, Response):
        return result
    return render(result, fmt, callback)
