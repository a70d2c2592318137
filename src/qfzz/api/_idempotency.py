"""The ``Idempotency-Key`` request header, for routes that store something.

A client that may retry a POST (a timeout, a dropped connection) sends a key of its own
choosing; the station answers every repeat of that request with the first answer (same
status and body, marked ``Idempotent-Replayed: true``) instead of storing it again. Any
route that stores something takes it the same way: declare ``IdempotencyKeyHeader``, make
the key with :func:`key_of`, call the station's ``…_once`` method, and pass its answer
through :func:`answered`.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import Header, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel

from qfzz.models import IdempotencyKey
from qfzz.station import Once, Principal, request_key

T = TypeVar("T")

#: Set (to ``true``) on an answer that is the stored first answer to an earlier request.
REPLAYED = "Idempotent-Replayed"

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=257,
        description=(
            "Your unique key for this request (1–255 visible ASCII characters, bare or "
            'quoted: `"…"`), so that it can be retried safely: a repeat of the same '
            "request with the same key gets the first answer (with `Idempotent-Replayed: "
            "true`) and stores nothing again; the same key with a different request is "
            "422 `idempotency_key_reused`, and while the first is still being answered, "
            "409 `idempotency_key_in_flight`. Keys are yours alone and kept for 24 hours."
        ),
    ),
]


def key_of(
    request: Request, principal: Principal, header: str | None, body: BaseModel
) -> IdempotencyKey | None:
    """The request's scoped key and fingerprint, or ``None`` when it sent no key."""
    if header is None:
        return None
    route = request.scope.get("route")
    template = route.path if isinstance(route, APIRoute) else request.url.path
    return request_key(
        principal.user_id,
        request.method,
        template,
        request.path_params,
        body.model_dump(mode="json"),
        header,
    )


def answered(response: Response, once: Once[T]) -> T:
    """The answer's value, marking ``response`` when it is a replay."""
    if once.replayed:
        response.headers[REPLAYED] = "true"
    return once.value
