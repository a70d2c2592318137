"""The ``qfzz`` command: one small module per command group (beets-style).

The CLI does not know how a server is assembled; ``qfzz.app`` passes ``serve`` in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qfzz.cli import admin, cache, datasets, ledger, listener, node
from qfzz.cli._common import (
    DataDir,
    LibraryProgress,
    Wiring,
    cli_errors,
    console,
    make_settings,
    progress_bar,
    progress_callback,
)
from qfzz.cli._server import refuse_second_server
from qfzz.cli.interact import interact
from qfzz.cli.playlist import playlist
from qfzz.cli.resolve import resolve
from qfzz.cli.scan import scan

__all__ = ["LibraryProgress", "Wiring", "build_cli"]


def build_cli(wiring: Wiring) -> typer.Typer:
    app = typer.Typer(
        name="qfzz",
        help="QFZZ: a self-hosted personalized radio station.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def assembled(ctx: typer.Context) -> None:
        """QFZZ: a self-hosted personalized radio station."""
        ctx.obj = wiring  # every command opens its station through the same wiring

    @app.command()
    def serve(
        data_dir: DataDir = None,
        host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
        port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
        library: Annotated[
            list[Path] | None, typer.Option("--library", help="Music folder (repeatable).")
        ] = None,
        demo: Annotated[
            bool, typer.Option("--demo/--no-demo", help="Demo library when none is set.")
        ] = True,
        workers: Annotated[
            int,
            typer.Option(
                min=1,
                max=64,
                help="API processes on the port (> 1 needs PostgreSQL and a Redis cache; "
                "background jobs then run in `qfzz worker`).",
            ),
        ] = 1,
    ) -> None:
        """Run the station: REST API on http://HOST:PORT, with a demo library if needed."""
        with cli_errors():
            settings = make_settings(
                data_dir,
                host=host,
                port=port,
                library=library or None,
                demo_library=None if demo else False,
            )
            if workers > 1:
                refuse_second_server(settings.data_dir)
                with progress_bar("starting") as progress:
                    wiring.prepare_shared(
                        settings, workers, lambda what: progress_callback(progress, what)
                    )
                address = f"http://{settings.host}:{settings.port}"
                console.print(f"QFZZ on {address}: {workers} processes (Ctrl-C stops)")
                wiring.run_many(settings, workers)
                return
            refuse_second_server(settings.data_dir)
            station = wiring.start(settings)
            console.print(
                f"QFZZ on http://{settings.host}:{settings.port}  (Ctrl-C stops; while the "
                "library is prepared, /api/v1/health says how far it is)"
            )
        with cli_errors():  # a port another process holds, say
            wiring.run(station, settings)

    @app.command()
    def worker(data_dir: DataDir = None) -> None:
        """Run the station's background jobs (library jobs, conversions, mining, model fits),
        no HTTP: beside `qfzz serve --workers N`, on the same database and cache."""
        with cli_errors():
            wiring.run_jobs(make_settings(data_dir))

    app.command()(scan)
    app.command()(resolve)
    app.command()(playlist)
    app.command()(interact)
    app.add_typer(datasets.app, name="datasets")
    app.add_typer(listener.app, name="listener")
    app.add_typer(ledger.app, name="ledger")
    app.add_typer(admin.app, name="admin")
    app.add_typer(cache.app, name="cache")
    app.add_typer(node.app, name="node")
    app.command()(ledger.trust)
    return app
