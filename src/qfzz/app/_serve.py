"""One ``qfzz serve`` process: the station, its library, its HTTP server.

The port opens before any library work: ``run_http`` prepares the library on a thread
of its own (``_bootstrap``) while uvicorn already serves — health answers 503 ``starting``
with the step and its progress, the web page says so, and tracks are playable as they
are scanned. Only then do the station's background workers start.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import uvicorn
from fastapi import FastAPI

from qfzz.api import create_api
from qfzz.app._assemble import build_overlay, build_station
from qfzz.app._bootstrap import Progress, prepare_library
from qfzz.app._http import server_options
from qfzz.app._logging import configure_logging
from qfzz.app._memory import settle_start_up_heap
from qfzz.app._sockets import bound_socket
from qfzz.serving import announce, connect_url, withdraw
from qfzz.settings import Settings
from qfzz.station import QFZZStation, StartUpCancelled

log = logging.getLogger(__name__)

#: Seconds a stop waits for the library thread to reach its next step before closing
#: the station under it (a step is one file scanned or one demo track made).
LIBRARY_STOP_WAIT = 1.0


def build_app(settings: Settings | None = None) -> FastAPI:
    """A station on ``settings`` and the HTTP API around it (started by the server)."""
    station = build_station(settings or Settings())
    return create_api(station, overlay=build_overlay(station))


def start_station(settings: Settings) -> QFZZStation:
    """A started station (its store open, its index loaded: what a restart costs), its
    library not yet prepared — ``run_http`` does that while it serves."""
    configure_logging(settings.log_level)
    station = build_station(settings)
    station.start()
    return station


def prepare_station(settings: Settings, progress: Progress | None = None) -> QFZZStation:
    """A started station whose library is scanned (or a demo created) and ready to play,
    its workers running (for scripts and tests that want it all before going on)."""
    station = start_station(settings)
    try:
        prepare_library(station, settings, progress)
        station.start_workers()
    except BaseException:
        station.close()
        raise
    return station


def prepare_in_background(station: QFZZStation, settings: Settings) -> threading.Thread:
    """Prepare the library on a thread while the station serves, then start its workers."""
    station.start_up.begin("preparing the library")

    def prepare() -> None:
        try:
            prepare_library(station, settings)
            log.info("library ready: %d tracks", station.index.active_count)
        except StartUpCancelled:
            return  # stopping: the next start goes on where this one stopped
        except Exception:  # the station serves what it has; the log says why
            log.exception("preparing the library failed")
        station.start_workers()
        station.start_up.finish()

    thread = threading.Thread(target=prepare, name="qfzz-library", daemon=True)
    thread.start()
    return thread


def run_http(station: QFZZStation, settings: Settings) -> None:
    """Serve the API at once, the library prepared meanwhile, until interrupted; then
    close the station.

    While it serves, ``<data_dir>/server.json`` says where (``qfzz.serving``), so the CLI
    sends what changes the station through it instead of writing under it.
    """
    library: threading.Thread | None = None
    # uvicorn stops on SIGTERM, then raises it again under the handler it found: the
    # default one would end the process there, before the station is closed and this
    # server's word in server.json taken back.
    previous = signal.signal(signal.SIGTERM, _exit_cleanly)
    try:
        sock = bound_socket(settings.host, settings.port)
        try:
            app = create_api(station, overlay=build_overlay(station), manage_lifecycle=False)
            library = prepare_in_background(station, settings)
            settle_start_up_heap()
            announce(settings.data_dir, connect_url(settings.host, sock.getsockname()[1]))
            server = uvicorn.Server(uvicorn.Config(app, **server_options(settings)))
            server.run(sockets=[sock])
        finally:
            withdraw(settings.data_dir)
            sock.close()
    finally:
        station.start_up.cancel()
        if library is not None:
            library.join(LIBRARY_STOP_WAIT)
        station.close()
        signal.signal(signal.SIGTERM, previous)


def _exit_cleanly(_signal: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)
