"""The web player: one page at ``/``, its static files, and live now-playing events.

The page is plain HTML, CSS and ES modules shipped as package data in ``static/`` (no
build step). It talks only to the public REST API, plus :mod:`.events` for server-sent
now-playing and history updates.
"""

from __future__ import annotations

from fastapi import APIRouter

from qfzz.api._guarded import GuardedRoute
from qfzz.api.web import events, pages

__all__ = ["router"]

router = APIRouter(route_class=GuardedRoute)
router.include_router(pages.router)
router.include_router(events.router, prefix="/api/v1")
