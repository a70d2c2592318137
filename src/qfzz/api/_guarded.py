"""Checks that run before a request's body is read: rate limits and sign-in on the doors
where a body is expensive.

FastAPI reads and parses a route's JSON body before it solves any dependency, so a rate
limit or an authentication written as a dependency runs only after an attacker's body has
been parsed. :func:`before_body` marks an endpoint with guards; :class:`GuardedRoute` (the
route class of every QFZZ router) runs them first, then hands the request to FastAPI.
A guard refuses by raising a ``QfzzError``, which the error handlers turn into JSON.

Body *size* needs no guard: FastAPI's own ``max_body_size`` (per app, router and route)
answers 413 before parsing; QFZZ sets it everywhere (``qfzz.api.create_api``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.routing import APIRoute

Guard = Callable[[Request], Awaitable[None]]
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])

_GUARDS = "__qfzz_before_body__"


def before_body(*guards: Guard) -> Callable[[Endpoint], Endpoint]:
    """Run ``guards`` (in order) on the request before its body is read or parsed."""

    def mark(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, _GUARDS, (*getattr(endpoint, _GUARDS, ()), *guards))
        return endpoint

    return mark


def guards_of(endpoint: Callable[..., Any]) -> tuple[Guard, ...]:
    found: tuple[Guard, ...] = getattr(endpoint, _GUARDS, ())
    return found


class GuardedRoute(APIRoute):
    """An ``APIRoute`` that runs its endpoint's :func:`before_body` guards first."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        guards = guards_of(self.endpoint)
        if not guards:
            return handler

        async def guarded(request: Request) -> Response:
            for guard in guards:
                await guard(request)
            return await handler(request)

        return guarded
