"""Request-scoped access to the station the app was built around."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from qfzz.station import QFZZStation


def _station(request: Request) -> QFZZStation:
    station: QFZZStation = request.app.state.station
    return station


StationDep = Annotated[QFZZStation, Depends(_station)]
