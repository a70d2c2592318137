"""Several API processes on one port: ``qfzz serve --workers N``.

uvicorn's own supervisor does the process work: it spawns N processes, answers SIGINT/SIGTERM
by stopping them all, and starts a new process when one dies or hangs (kill -9 included) —
nothing here re-implements that. What differs is the listening socket: uvicorn binds one
and hands it to every process, so all of them accept from one queue, and asyncio accepts as
many connections as are waiting each time its process wakes — the busiest process takes the
most (measured: 94 % and 69 % of a core for two processes under 100 keep-alive clients).
Here each process listens on a socket of its own on the same port (``SO_REUSEPORT``, as
nginx's ``reuseport``), and the kernel spreads new connections across them by their
addresses (``PortShare``). Each process builds its
own station from the same settings (the parent exports them as ``QFZZ_*`` variables, which
``Settings`` reads) and keeps its own memory in step with the others through the station's
event relay (``qfzz.station.EventRelay``). That needs stores every process can reach: a
PostgreSQL database and a Redis-protocol cache; with SQLite or the embedded cache more
than one process is refused (``require_shared``).

An API process runs no background jobs (library jobs, conversions, resolver runs, model
fits): ``qfzz worker`` processes do; it installs the collaborative model the workers fit
and store (``TasteModelTrainer.follow``), and mines the trust ledger's pending votes.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.supervisors import Multiprocess

from qfzz.api import create_api
from qfzz.app._assemble import build_station
from qfzz.app._bootstrap import Progress, prepare_library
from qfzz.app._http import server_options
from qfzz.app._logging import configure_logging
from qfzz.app._memory import settle_start_up_heap
from qfzz.app._sockets import PortShare, require_free
from qfzz.errors import InvalidInput
from qfzz.serving import announce, connect_url, withdraw
from qfzz.settings import Settings

log = logging.getLogger(__name__)

#: The factory each API process calls (``uvicorn.run(..., factory=True)``).
FACTORY = "qfzz.app._workers:worker_app"


def require_shared(settings: Settings, processes: int) -> None:
    """Refuse more than one process on stores that only one process can own."""
    if processes <= 1:
        return
    missing = []
    if not settings.resolved_database_url.startswith("postgresql"):
        missing.append(
            "QFZZ_DATABASE_URL=postgresql+psycopg://user@host/db (SQLite is one process's)"
        )
    if not settings.cache_url:
        missing.append("QFZZ_CACHE_URL=redis://host:6379/0 (the embedded cache is one process's)")
    if missing:
        raise InvalidInput(
            f"{processes} processes need a database and a cache they all reach; set "
            + " and ".join(missing)
        )


def settings_environment(settings: Settings) -> dict[str, str]:
    """The settings given explicitly (on the command line, say) as ``QFZZ_*`` variables,
    so a spawned process's ``Settings()`` is this one; the rest it reads as the parent
    did (the same environment and files)."""
    values: dict[str, Any] = settings.model_dump(mode="json", include=settings.model_fields_set)
    return {
        f"QFZZ_{name.upper()}": value if isinstance(value, str) else json.dumps(value)
        for name, value in values.items()
    }


def prepare_shared(settings: Settings, processes: int, progress: Progress | None) -> None:
    """Before N processes start: refuse stores they cannot share and a port in use, then
    scan the library (or make the demo) once, here, rather than N times at once."""
    require_shared(settings, processes)
    require_free(settings.host, settings.port)
    configure_logging(settings.log_level)
    station = build_station(settings)
    try:
        station.start()
        prepare_library(station, settings, progress)
    finally:
        station.close()


def run_jobs(settings: Settings) -> None:
    """``qfzz worker``: the station's background jobs until SIGINT or SIGTERM."""
    configure_logging(settings.log_level)
    station = build_station(settings)
    stopping = threading.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in signals}
    try:
        station.start()
        station.start_miner()
        station.jobs.start()
        station.parts.uploads.start()
        station.parts.taste_model.start()  # fits, stored for the API processes to install
        log.info("job worker %d running", os.getpid())
        stopping.wait()
    finally:
        station.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_workers(settings: Settings, processes: int) -> None:
    """Serve on ``processes`` API processes until interrupted (uvicorn's supervisor)."""
    require_shared(settings, processes)
    os.environ.update(settings_environment(settings))
    config = uvicorn.Config(FACTORY, factory=True, workers=processes, **server_options(settings))
    share = PortShare.bind_to(config.host, config.port)
    log.info("serving on http://%s:%d with %d processes", config.host, config.port, processes)
    announce(settings.data_dir, connect_url(config.host, share.getsockname()[1]))
    try:
        Multiprocess(config, sockets=[share]).run()
    except KeyboardInterrupt:
        pass
    finally:
        withdraw(settings.data_dir)
        share.close()


def worker_app() -> FastAPI:
    """One API process: its station started before it serves (the relay caught up, the
    start-up heap settled, as ``run_http`` does), stopped with the server."""
    settings = Settings()
    configure_logging(settings.log_level)
    station = build_station(settings)
    station.start()
    station.parts.taste_model.start(follow=True)  # the fits qfzz worker stores
    # Each process seals the votes it holds: miners in several processes are safe (a block
    # takes its height optimistically; the loser takes the winner's blocks on), and
    # a process that never mined would keep every vote pending in memory.
    station.start_miner()
    station.start_on_air()  # makes the shared mounts whose lease it takes
    app = create_api(station, manage_lifecycle=True)
    settle_start_up_heap()
    log.info("API process %d serving", os.getpid())
    return app
