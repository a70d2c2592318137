"""How the HTTP server is configured: one place, used by ``qfzz serve`` and the tests'
live servers alike, so what tests exercise is what operators run."""

from __future__ import annotations

from typing import Any

from qfzz.app._icecast_http import IcecastHttpProtocol
from qfzz.settings import Settings

#: Seconds a stopping server gives requests in flight before it cancels them.
SHUTDOWN_GRACE = 0.5


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn options for a station's settings.

    uvicorn believes ``X-Forwarded-For`` from 127.0.0.1 unless told otherwise, which would
    let any local client — or a proxy that passes the header through — choose the address
    that per-address rate limits count. QFZZ believes it only from the configured
    ``trusted_proxies`` (none by default).

    The HTTP protocol is uvicorn's httptools one, except that endless audio is sent
    without chunks, ending at close, as Icecast sends it (``IcecastHttpProtocol``: VLC
    decoded uvicorn's chunk headers as audio).

    A stop waits ``SHUTDOWN_GRACE`` seconds for requests in flight, then cancels what is
    left: radio streams never end by themselves, and uvicorn would otherwise wait for
    their listeners to hang up (a Ctrl-C with six mounts open took 30 s).
    """
    proxies = list(settings.trusted_proxies)
    return {
        "host": settings.host,
        "port": settings.port,
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": proxies,
        "server_header": False,
        "http": IcecastHttpProtocol,
        "log_config": None,
        "access_log": False,
        "timeout_graceful_shutdown": SHUTDOWN_GRACE,
    }
