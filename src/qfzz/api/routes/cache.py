from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from qfzz.api._auth import UserDep
from qfzz.api._bounds import NamePath
from qfzz.api._deps import StationDep
from qfzz.api._guarded import GuardedRoute

router = APIRouter(route_class=GuardedRoute, prefix="/cache", tags=["operations"])


@router.get("/stats")
def stats(station: StationDep, user: UserDep) -> dict[str, Any]:
    """Hits, misses, errors, latency and circuit state per cache."""
    return station.cache_stats()


@router.delete("/{namespace}")
def clear(namespace: NamePath, station: StationDep, user: UserDep) -> dict[str, Any]:
    """Delete one namespace (by SCAN on Redis, never FLUSHDB or KEYS). Admins only."""
    user.require_admin()
    return {"namespace": namespace, "deleted": station.clear_cache(namespace)}
