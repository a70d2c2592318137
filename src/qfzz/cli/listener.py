"""``qfzz listener add USER``: register a listener from the command line."""

from __future__ import annotations

from typing import Annotated

import typer

from qfzz.cli._common import DataDir, console, running_station

app = typer.Typer(help="Manage listeners.", no_args_is_help=True)


@app.command("add")
def add(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="The listener's user id.")],
    genre: Annotated[list[str] | None, typer.Option("--genre", help="A liked genre.")] = None,
    artist: Annotated[list[str] | None, typer.Option("--artist", help="A liked artist.")] = None,
    mood: Annotated[list[str] | None, typer.Option("--mood", help="A liked mood.")] = None,
    discovery: Annotated[
        float | None, typer.Option("--discovery", min=0.0, max=1.0, help="Discovery share.")
    ] = None,
    password: Annotated[
        str | None, typer.Option(help="Password for signing in (optional).")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Register USER with their stated preferences; prints a bearer token."""
    with running_station(ctx, data_dir) as station:
        preferences: dict[str, object] = {
            "genres": genre or [],
            "artists": artist or [],
            "moods": mood or [],
        }
        if discovery is not None:
            preferences["discovery_factor"] = discovery
        registration = station.register_listener(user, preferences, password=password)
        console.print(f"listener {registration.user_id} added; token: {registration.token}")
