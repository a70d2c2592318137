"""Request-scoped access to the station the app was built around."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from qfzz.station import QFZZStation


async def _station(request: Request) -> QFZZStation:
    # async: a plain lookup must not cost a hop to the thread pool on every request
    station: QFZZStation = request.app.state.station
    return station


StationDep = Annotated[QFZZStation, Depends(_station)]
