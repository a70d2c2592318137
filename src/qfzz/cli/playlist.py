"""``qfzz playlist USER``: generate and show a listener's personal playlist."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from qfzz.cli._common import DataDir, console, err_console, running_station


def playlist(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="The listener's user id.")],
    size: Annotated[int | None, typer.Option("--size", min=1, help="Number of tracks.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    include_unplayable: Annotated[
        bool, typer.Option("--include-unplayable", help="Also tracks without audio.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Generate USER's playlist, with the reasons for every pick."""
    with running_station(ctx, data_dir) as station:
        generated = station.generate_playlist(user, size, include_unplayable=include_unplayable)
        if (most := station.playlist_capped_at(size)) is not None:  # said, never silent
            err_console.print(f"[yellow]{size} tracks asked for: this station makes at most {most}")
        if as_json:
            print(
                json.dumps(
                    {
                        "user_id": generated.user_id,
                        "tracks": [
                            {
                                "track_id": i.track.track_id,
                                "title": i.track.title,
                                "artist": i.track.artist,
                                "album": i.track.meta.album,
                                "genre": i.track.meta.genre,
                                "mood": i.track.meta.mood,
                                "duration": i.track.meta.duration,
                                "score": i.score,
                                "reasons": list(i.reasons),
                            }
                            for i in generated.items
                        ],
                    },
                    indent=2,
                )
            )
            return
        table = Table(
            "#", "id", "artist", "title", "genre", "score", "why", title=f"playlist for {user}"
        )
        for n, item in enumerate(generated.items, start=1):
            table.add_row(
                str(n),
                str(item.track.track_id),
                item.track.artist,
                item.track.title,
                item.track.meta.genre or "",
                f"{item.score:.3f}",
                "; ".join(item.reasons),
            )
        console.print(table)
