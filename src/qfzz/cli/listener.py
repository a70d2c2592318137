"""``qfzz listener add USER``: register a listener from the command line;
``qfzz listener stream-key USER [--revoke]``: their lasting player URLs."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

import typer

from qfzz.cli._common import DataDir, console, running_station
from qfzz.cli._server import station_server

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
    preferences: dict[str, object] = {
        "genres": genre or [],
        "artists": artist or [],
        "moods": mood or [],
    }
    if discovery is not None:
        preferences["discovery_factor"] = discovery
    server = station_server(data_dir)
    if server is not None:
        body = {"user_id": user, "preferences": preferences, "password": password}
        added = server.call("POST", "/api/v1/listeners", body=body)
        user_id, token = added["user_id"], added["token"]
    else:
        with running_station(ctx, data_dir) as station:
            registration = station.register_listener(user, preferences, password=password)
            user_id, token = registration.user_id, registration.token
    console.print(f"listener {user_id} added; token: {token}")


@app.command("stream-key")
def stream_key(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="The listener's user id.")],
    revoke: Annotated[
        bool, typer.Option("--revoke", help="Revoke the key instead of making a new one.")
    ] = False,
    base_url: Annotated[
        str | None,
        typer.Option(help="The station's address as players reach it (default: its host:port)."),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Make USER a new stream key (the old one stops working) and print player URLs that
    carry it; with --revoke, revoke it. Only its digest is stored: it is shown this once."""
    with running_station(ctx, data_dir) as station:
        accounts = station.accounts
        user_id = accounts.resolve(user) or user
        if revoke:
            had = accounts.revoke_stream_key(user_id)
            console.print(f"stream key of {user_id} revoked" if had else f"{user_id} had none")
            return
        key = accounts.create_stream_key(user_id)
        settings = station.settings
        base = (base_url or f"http://{settings.host}:{settings.port}").rstrip("/")
        mount = quote(station.radio.mount_names[0], safe="")
        personal = f"{base}/api/v1/listeners/{quote(user_id, safe='')}/stream"
        console.print(f"stream key of {user_id} (shown once): {key}", soft_wrap=True)
        for name, url in (
            ("shared stream", f"{base}/stream/{mount}"),
            ("shared playlist", f"{base}/stream/{mount}.m3u"),
            ("personal stream", personal),
            ("personal playlist", f"{personal}.m3u"),
        ):
            console.print(f"{name}: {url}?key={key}", soft_wrap=True, highlight=False)
