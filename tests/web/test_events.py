"""Server-sent now-playing and history events."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from qfzz.api import create_api
from qfzz.api.web.events import sse, watch


@pytest.fixture
def client(station):
    with TestClient(create_api(station, manage_lifecycle=False)) as c:
        yield c


def test_events_need_a_token(client, station):
    for query in ("", "?token=ann.99999999999.bad", "?mount=personal"):
        response = client.get(f"/api/v1/events{query}")
        assert response.status_code == 401, query
        assert response.json()["error"] == "unauthorized"
    registered = station.register_listener("ann", {}, password="pw-1234")
    token = station.accounts.stream_token(station.accounts.authenticate(registered.token))
    response = client.get(f"/api/v1/events?mount=nope&token={token}")
    assert response.status_code == 404 and "personal" in response.json()["detail"]


def test_an_event_is_one_line_of_json():
    assert sse("now", {"a": [1, "x\ny"]}) == 'event: now\ndata: {"a":[1,"x\\ny"]}\n\n'


class _Request:
    def __init__(self) -> None:
        self.gone = False

    async def is_disconnected(self) -> bool:
        return self.gone


def test_the_generator_sends_only_on_change(station):
    station.register_listener("ann", {}, password="pw-1234")
    mount = station.radio.personal("ann")
    request = _Request()

    async def first_events(n: int) -> list[str]:
        stream = watch(station, mount, "personal", request, poll_seconds=0)
        out = [await stream.__anext__() for _ in range(n)]
        request.gone = True
        out += [chunk async for chunk in stream]
        return out

    events = asyncio.run(first_events(3))
    assert events[0].startswith("retry: ")
    assert events[1].startswith("event: now\n")
    now = json.loads(events[1].split("data: ")[1])
    assert now["mount"] == "personal" and now["track"] is None
    assert events[2].startswith("event: history\n")
    assert len(events) == 3  # nothing changed, so nothing more was sent before it stopped


def _events(response: httpx.Response) -> Iterator[tuple[str, dict]]:
    kind = None
    for line in response.iter_lines():
        if line.startswith("event: "):
            kind = line[len("event: ") :]
        elif line.startswith("data: ") and kind:
            yield kind, json.loads(line[len("data: ") :])


def test_a_listener_sees_now_playing_change_over_sse(live):
    _, token = live.sign_in("ann")
    stop = threading.Event()

    def listen() -> None:  # someone listening to main puts tracks on air
        with httpx.stream("GET", f"{live.url}/stream/main?token={token}", timeout=10) as audio:
            for _ in audio.iter_bytes():
                if stop.is_set():
                    return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    url = f"{live.url}/api/v1/events?mount=main&token={token}"
    seen: list[tuple[int, float] | None] = []
    deadline = time.monotonic() + 30
    try:
        with httpx.stream("GET", url, timeout=10) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            for kind, data in _events(response):
                if kind == "now":
                    assert data["mount"] == "main"
                    track = data["track"]
                    seen.append(track and (track["track_id"], data["started_at"]))
                if kind == "history" and len([s for s in seen if s]) >= 2:
                    assert data["tracks"], "a finished track shows in the history"
                    break
                assert time.monotonic() < deadline, seen
    finally:
        stop.set()
        listener.join(10)
    plays = [s for s in seen if s is not None]
    # Each `now` is a new start on air (in simulated time a poll may find the same track
    # begun again, so the start time, not the track id, is what changes).
    assert len(plays) >= 2 and plays[0][1] < plays[1][1]
