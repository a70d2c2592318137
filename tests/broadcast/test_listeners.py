"""Listener behaviour at the mount: burst on connect, slow listeners moved or dropped."""

from __future__ import annotations

import asyncio

import pytest

from qfzz.api.routes.streams import MAX_EVICTIONS, Choice, _listen
from qfzz.settings import Settings
from qfzz.station import QFZZStation
from qfzz.testing import wait_for as _wait


@pytest.fixture
def station(tmp_path, tone_library):
    settings = Settings(
        data_dir=tmp_path / "d",
        demo_library=False,
        crossfade_seconds=0.5,
        burst_seconds=2.0,
        encoder_idle_seconds=0.0,
        stream_buffer_seconds=3.0,
    )
    st = QFZZStation(settings)
    st.start()
    st.scan(tone_library)
    yield st
    st.close()


class FakeRequest:
    async def is_disconnected(self) -> bool:
        return False


def test_a_new_listener_starts_a_burst_behind_the_live_edge(station):
    mount = station.radio.mount("main")
    first = mount.tune_in("mp3", 128)
    with first.reader:
        buffer = mount._encoders[("mp3", 128)].packets
        assert _wait(lambda: buffer.number_of_items_inserted > 200)  # > 5 s of audio
        second = mount.tune_in("mp3", 128)
        newest = buffer[buffer.number_of_items_inserted - 1].at
        with second.reader:
            chunk = second.reader.read()
            assert chunk.start <= second.start < chunk.end  # the chunk holding the burst
            start = chunk.since(second.start).marks[0].at
        mount.leave("mp3", 128)
        assert 1.8 <= newest - start <= 2.2
    mount.leave("mp3", 128)


def test_a_listener_that_falls_out_of_the_buffer_is_moved_then_dropped(station):
    mount = station.radio.mount("main")

    async def scenario() -> tuple[int, bool]:
        stream = _listen(station, mount, Choice("mp3", 128, None), False, FakeRequest())
        chunks = 0
        await stream.__anext__()
        groups = mount._encoders[("mp3", 128)].groups

        def cut() -> int:  # chunks every phase group has cut, whichever the listener is in
            return min(g.number_of_items_inserted for g in groups)

        for _ in range(MAX_EVICTIONS + 2):
            behind = cut() + groups[0].maxlen + 5
            while cut() < behind:  # stop reading: fall behind
                await asyncio.sleep(0.01)
            try:
                await stream.__anext__()
                chunks += 1
            except StopAsyncIteration:
                return chunks, True
        return chunks, False

    chunks, dropped = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert dropped and chunks == MAX_EVICTIONS  # moved to the live edge 3 times, then cut
    assert _wait(lambda: mount.encoders == [])  # and its encoder stopped


def test_a_listener_response_stops_and_leaves_when_the_client_goes():
    from qfzz.api.routes.streams import ListenerResponse

    closed: list[bool] = []
    sent: list[dict] = []
    gone = asyncio.Event()

    async def chunks():
        try:
            while True:
                yield b"x" * 10
                await asyncio.sleep(0.01)
        finally:
            closed.append(True)  # the generator's cleanup (leaving the mount) ran

    async def receive() -> dict:
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)
        if len(sent) == 3:
            gone.set()  # the client hangs up after two chunks

    async def scenario() -> None:
        response = ListenerResponse(chunks(), media_type="audio/mpeg")
        await asyncio.wait_for(response({"type": "http"}, receive, send), 5)

    asyncio.run(scenario())
    assert closed == [True]
    assert sent[0]["type"] == "http.response.start"
    assert 3 <= len(sent) <= 4 and all(m.get("more_body") for m in sent[1:])
