"""Wiring: the only place that turns one ``Settings`` into running parts.

``main`` is the ``qfzz`` console script; ``build_app`` gives an ASGI app for any server.
"""

from __future__ import annotations

import typer
import uvicorn
from fastapi import FastAPI

from qfzz.api import create_api
from qfzz.app._assemble import build_overlay, build_station
from qfzz.app._bootstrap import prepare_library
from qfzz.app._http import server_options
from qfzz.app._logging import configure_logging
from qfzz.app._memory import settle_start_up_heap
from qfzz.app._workers import prepare_shared, run_jobs, run_workers
from qfzz.cli import LibraryProgress, Wiring, build_cli
from qfzz.settings import Settings
from qfzz.station import QFZZStation

__all__ = [
    "build_app",
    "build_overlay",
    "build_station",
    "command_line",
    "main",
    "prepare_library",
    "prepare_station",
    "run_http",
    "server_options",
]


def build_app(settings: Settings | None = None) -> FastAPI:
    """A station on ``settings`` and the HTTP API around it (started by the server)."""
    station = build_station(settings or Settings())
    return create_api(station, overlay=build_overlay(station))


def prepare_station(settings: Settings, progress: LibraryProgress | None = None) -> QFZZStation:
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


def command_line() -> typer.Typer:
    """The ``qfzz`` command, assembled: its stations are built by ``build_station``."""
    return build_cli(
        Wiring(
            open=build_station,
            prepare=prepare_station,
            run=run_http,
            prepare_shared=prepare_shared,
            run_many=run_workers,
            run_jobs=run_jobs,
        )
    )


def main() -> None:
    command_line()()
