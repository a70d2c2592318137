"""``qfzz admin create USER``: the first operator (or another one)."""

from __future__ import annotations

from typing import Annotated

import typer

from qfzz.cli._common import DataDir, console, running_station

app = typer.Typer(help="Manage operators (listeners with the admin role).", no_args_is_help=True)


@app.command("create")
def create(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="The admin's user id.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    data_dir: DataDir = None,
) -> None:
    """Create USER as an admin, or make an existing listener one (and set the password)."""
    with running_station(ctx, data_dir) as station:
        existing = station.accounts.resolve(user)  # any case or width of the id
        if existing is None:
            user = station.register_listener(user, {}, password=password).user_id
        else:
            user = existing
            station.accounts.set_password(user, password)
        station.accounts.make_admin(user)
        console.print(f"{user} is an admin")
