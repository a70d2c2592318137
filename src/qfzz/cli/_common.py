"""What every command shares: the data-dir option, opening the station, error exits."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console

from qfzz.errors import QfzzError

if TYPE_CHECKING:  # imported where used: `--help` must not pay for them
    from rich.progress import Progress

    from qfzz.settings import Settings
    from qfzz.station import QFZZStation

LibraryProgress = Callable[[str], Callable[[int, int, str], None]]


@dataclass(frozen=True, slots=True)
class Wiring:
    """How stations are assembled; given by ``qfzz.app`` so the CLI stays thin."""

    open: Callable[[Settings], QFZZStation]
    #: ``qfzz serve``: a started station, its library not prepared yet, ...
    start: Callable[[Settings], QFZZStation]
    #: ... served at once while its library is prepared, until interrupted.
    run: Callable[[QFZZStation, Settings], None]
    #: ``qfzz serve --workers N`` (N > 1): stores every process reaches (else refused),
    #: the library prepared once, ...
    prepare_shared: Callable[[Settings, int, LibraryProgress | None], None]
    #: ... then N API processes until interrupted.
    run_many: Callable[[Settings, int], None]
    #: ``qfzz worker``: the background jobs, without HTTP, until interrupted.
    run_jobs: Callable[[Settings], None]


console = Console()
err_console = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="QFZZ_DATA_DIR",
        help="Where QFZZ keeps its database and demo library (default ./qfzz-data).",
    ),
]


def make_settings(data_dir: Path | None, **overrides: object) -> Settings:
    from qfzz.settings import Settings

    values = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    return Settings(**values)  # type: ignore[arg-type]


@contextmanager
def running_station(ctx: typer.Context, data_dir: Path | None) -> Iterator[QFZZStation]:
    """A started station on the data dir; QFZZ errors become a message and exit code 1."""
    wiring = ctx.find_object(Wiring)
    if wiring is None:
        raise RuntimeError("the qfzz command was built without its wiring (qfzz.app)")
    with cli_errors():
        station = wiring.open(make_settings(data_dir))
        try:
            station.start()
            yield station
        finally:
            station.close()


def refuse(message: str) -> NoReturn:
    """End the command with ``message`` on stderr and exit code 1."""
    err_console.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    sys.exit(1)


@contextmanager
def cli_errors() -> Iterator[None]:
    try:
        yield
    except QfzzError as exc:
        refuse(exc.detail)


def progress_bar(description: str) -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    )


def progress_callback(progress: Progress, description: str) -> Callable[[int, int, str], None]:
    task = progress.add_task(description, total=None)

    def update(done: int, total: int, _item: str = "") -> None:
        progress.update(task, completed=done, total=total)

    return update
