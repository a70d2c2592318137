"""Conversions between table rows and the plain models, shared by the repositories."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import RowMapping

from qfzz.models import Track, TrackMeta
from qfzz.store._schema import tracks

TRACK_META_COLUMNS = (
    "title",
    "artist",
    "album",
    "genre",
    "year",
    "mood",
    "energy",
    "tempo",
    "duration",
    "bitrate",
    "musicbrainz_id",
    "format",
    "origin",
    "origin_ref",
)


#: Ids per ``IN (...)`` list: PostgreSQL refuses more than 65,535 bound parameters in one
#: statement, and SQLite builds may allow as few as 32,766.
IN_CHUNK = 10_000


def chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    """``ids`` in slices small enough for one ``IN (...)`` list on every database."""
    ids = list(ids)
    for start in range(0, len(ids), IN_CHUNK):
        yield ids[start : start + IN_CHUNK]


def meta_values(meta: TrackMeta) -> dict[str, Any]:
    return {name: getattr(meta, name) for name in TRACK_META_COLUMNS}


def row_to_track(row: RowMapping) -> Track:
    meta = TrackMeta(**{name: row[name] for name in TRACK_META_COLUMNS})
    return Track(
        track_id=row["id"],
        meta=meta,
        path=row["path"],
        playable=bool(row["playable"]),
        content_id=row["content_id"],
        creator_id=row["creator_id"],
        dataset_id=row["dataset_id"],
    )


TRACK_COLUMNS = tuple(
    tracks.c[name]
    for name in (
        "id",
        "path",
        "playable",
        "content_id",
        "creator_id",
        "dataset_id",
        *TRACK_META_COLUMNS,
    )
)
