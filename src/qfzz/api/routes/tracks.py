from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from qfzz.api._auth import UserDep
from qfzz.api._bounds import IdPath, Offset, SearchText
from qfzz.api._deps import StationDep
from qfzz.api._guarded import GuardedRoute
from qfzz.api._schemas import TrackOut, TrackPageOut
from qfzz.models import SEARCH_COUNT_CAP

router = APIRouter(route_class=GuardedRoute, prefix="/tracks", tags=["catalog"])


@router.get("", response_model=TrackPageOut)
def search(
    station: StationDep,
    user: UserDep,
    q: SearchText = None,
    genre: SearchText = None,
    artist: SearchText = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> TrackPageOut:
    """Tracks whose title, artist or album hold every word of ``q`` (case and accents
    ignored; a word of one or two letters matches word starts), in track-id order, with
    their count up to ``SEARCH_COUNT_CAP`` (``total_capped`` when there are more)."""
    total, found = station.search_tracks(
        q=q, genre=genre, artist=artist, limit=limit, offset=offset
    )
    return TrackPageOut(
        total=min(total, SEARCH_COUNT_CAP),
        total_capped=total > SEARCH_COUNT_CAP,
        tracks=[TrackOut.of(t) for t in found],
    )


@router.get("/{track_id}", response_model=TrackOut)
def get_track(track_id: IdPath, station: StationDep, user: UserDep) -> TrackOut:
    return TrackOut.of(station.track(track_id))
