"""One ``qfzz serve`` process: the station, its library, its HTTP server."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from qfzz.api import create_api
from qfzz.app._assemble import build_overlay, build_station
from qfzz.app._bootstrap import Progress, prepare_library
from qfzz.app._http import server_options
from qfzz.app._logging import configure_logging
from qfzz.app._memory import settle_start_up_heap
from qfzz.settings import Settings
from qfzz.station import QFZZStation


def build_app(settings: Settings | None = None) -> FastAPI:
    """A station on ``settings`` and the HTTP API around it (started by the server)."""
    station = build_station(settings or Settings())
    return create_api(station, overlay=build_overlay(station))


def prepare_station(settings: Settings, progress: Progress | None = None) -> QFZZStation:
    """A started station whose library is scanned (or a demo created) and ready to play."""
    configure_logging(settings.log_level)
    station = build_station(settings)
    station.start()
    try:
        prepare_library(station, settings, progress)
        station.start_workers()
    except BaseException:
        station.close()
        raise
    return station


def run_http(station: QFZZStation, settings: Settings) -> None:
    """Serve the API until interrupted, then close the station."""
    try:
        app = create_api(station, overlay=build_overlay(station), manage_lifecycle=False)
        settle_start_up_heap()
        uvicorn.run(app, **server_options(settings))
    finally:
        station.close()
