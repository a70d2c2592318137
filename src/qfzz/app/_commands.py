"""The ``qfzz`` command, wired to the server only when a command runs.

``qfzz --help`` (and every command's) must answer at once, so building the command imports
typer and the command modules, never the web framework, the database layer or the station:
each wiring function below imports what it runs when it is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from qfzz.cli import LibraryProgress, Wiring, build_cli

if TYPE_CHECKING:
    from qfzz.settings import Settings
    from qfzz.station import QFZZStation


def _open(settings: Settings) -> QFZZStation:
    from qfzz.app._assemble import build_station

    return build_station(settings)


def _start(settings: Settings) -> QFZZStation:
    from qfzz.app._serve import start_station

    return start_station(settings)


def _run(station: QFZZStation, settings: Settings) -> None:
    from qfzz.app._serve import run_http

    run_http(station, settings)


def _prepare_shared(settings: Settings, processes: int, progress: LibraryProgress | None) -> None:
    from qfzz.app._workers import prepare_shared

    prepare_shared(settings, processes, progress)


def _run_many(settings: Settings, processes: int) -> None:
    from qfzz.app._workers import run_workers

    run_workers(settings, processes)


def _run_jobs(settings: Settings) -> None:
    from qfzz.app._workers import run_jobs

    run_jobs(settings)


def command_line() -> typer.Typer:
    """The ``qfzz`` command, assembled: its stations are built by ``build_station``."""
    return build_cli(
        Wiring(
            open=_open,
            start=_start,
            run=_run,
            prepare_shared=_prepare_shared,
            run_many=_run_many,
            run_jobs=_run_jobs,
        )
    )


def main() -> None:
    command_line()()
