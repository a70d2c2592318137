"""Wiring: the only place that turns one ``Settings`` into running parts.

``main`` is the ``qfzz`` console script; ``build_app`` gives an ASGI app for any server.
"""

from __future__ import annotations

import gc

import uvicorn
from fastapi import FastAPI

from qfzz.api import create_api
from qfzz.app._bootstrap import prepare_library
from qfzz.app._http import server_options
from qfzz.app._logging import configure_logging
from qfzz.cli import LibraryProgress, Wiring, build_cli
from qfzz.settings import Settings
from qfzz.station import QFZZStation

__all__ = ["build_app", "main", "prepare_library", "prepare_station", "run_http", "server_options"]


def build_app(settings: Settings | None = None) -> FastAPI:
    """A station on ``settings`` and the HTTP API around it (started by the server)."""
    station = QFZZStation(settings or Settings())
    return create_api(station)


def prepare_station(settings: Settings, progress: LibraryProgress | None = None) -> QFZZStation:
    """A started station whose library is scanned (or a demo created) and ready to play."""
    configure_logging(settings.log_level)
    station = QFZZStation(settings)
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
        app = create_api(station, manage_lifecycle=False)
        # What start-up built (catalog index, routes, models, compiled SQL) lives as long
        # as the process: freezing it keeps the cyclic collector from walking it in every
        # full collection, which otherwise paused the event loop for 100-230 ms at a time
        # with a thousand listeners connecting.
        gc.freeze()
        uvicorn.run(app, **server_options(settings))
    finally:
        station.close()


def main() -> None:
    build_cli(Wiring(prepare=prepare_station, run=run_http))()
