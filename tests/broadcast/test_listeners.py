"""Listener sessions at the mount: burst on connect, slow listeners moved or dropped,
bitrate switches pushed by the device registry, and the HTTP response around them."""

from __future__ import annotations

import asyncio
import functools

import pytest

from qfzz.api.routes.streams import ListenerResponse
from qfzz.broadcast import MAX_EVICTIONS, ListenerSession
from qfzz.edge import DeviceRegistry, EdgeDeviceConfig, RegisteredDevice, StreamingParams
from qfzz.settings import Settings
from qfzz.testing import simulated_station
from qfzz.testing import wait_for as _wait


@pytest.fixture
def simulated(tmp_path, tone_library):
    """A station on simulated time: it runs while every listener keeps up; a test whose
    listener stops reading moves the clock itself."""
    settings = Settings(
        data_dir=tmp_path / "d",
        demo_library=False,
        crossfade_seconds=0.5,
        burst_seconds=2.0,
        encoder_idle_seconds=0.0,
        stream_buffer_seconds=3.0,
    )
    with simulated_station(settings, tone_library) as (station, clock):
        yield station, clock


@pytest.fixture
def station(simulated):
    return simulated[0]


def test_a_new_listener_starts_a_burst_behind_the_live_edge(simulated):
    station, clock = simulated
    mount = station.radio.mount("main")
    first = mount.tune_in("mp3", 128)
    with first.reader:  # a listener that never reads: time moves only by hand
        buffer = mount.packets("mp3", 128)
        clock.advance(6.0)
        assert _wait(lambda: buffer.number_of_items_inserted > 200)  # > 5 s of audio
        second = mount.tune_in("mp3", 128)
        newest = buffer[buffer.number_of_items_inserted - 1].at
        clock.advance(1.0)  # every phase group cuts its next chunk
        with second.reader:
            chunk = second.reader.read()
            assert chunk.start <= second.start < chunk.end  # the chunk holding the burst
            start = chunk.since(second.start).marks[0].at
        mount.leave("mp3", 128)
        assert 1.8 <= newest - start <= 2.2
    mount.leave("mp3", 128)


def test_a_session_starts_with_the_header_and_leaves_the_mount_when_closed(station):
    mount = station.radio.mount("main")

    async def scenario() -> bytes:
        stream = ListenerSession(mount, "opus", 96).chunks()
        first = await stream.__anext__()
        assert mount.listener_count() == 1 and mount.encoders == [("opus", 96)]
        await stream.aclose()
        return first

    first = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert first.startswith(mount.header("opus", 96)) and b"OpusHead" in first
    assert mount.listener_count() == 0
    assert _wait(lambda: mount.encoders == [])  # no listener, no grace: stopped


def test_a_listener_that_falls_out_of_the_buffer_is_moved_then_dropped(simulated):
    station, clock = simulated
    mount = station.radio.mount("main")
    session = ListenerSession(mount, "mp3", 128)

    async def scenario() -> tuple[int, bool]:
        stream = session.chunks()
        chunks = 0
        await stream.__anext__()
        groups = mount.chunk_groups("mp3", 128)

        def cut() -> int:  # chunks every phase group has cut, whichever the listener is in
            return min(g.number_of_items_inserted for g in groups)

        for _ in range(MAX_EVICTIONS + 2):
            behind = cut() + groups[0].maxlen + 5
            while cut() < behind:  # stop reading: fall behind while time goes on
                clock.advance(0.5)
                await asyncio.sleep(0.01)  # the encoder's thread catches up
            try:
                await stream.__anext__()
                chunks += 1
            except StopAsyncIteration:
                return chunks, True
        return chunks, False

    chunks, dropped = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert dropped and chunks == MAX_EVICTIONS  # moved to the live edge 3 times, then cut
    assert session.evictions == MAX_EVICTIONS + 1
    assert mount.listener_count() == 0
    assert _wait(lambda: mount.encoders == [])  # and its encoder stopped


class CountingRegistry(DeviceRegistry):
    """A registry that counts the reads made of it: a session must never ask."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get(self, device_id: str) -> RegisteredDevice:
        self.reads += 1
        return super().get(device_id)

    def params(self, device_id: str) -> StreamingParams:
        self.reads += 1
        return super().params(device_id)


DESKTOP = EdgeDeviceConfig(
    "desk-1", "desktop", network_type="ethernet", bandwidth_mbps=50, codecs=["mp3"]
)


def test_a_device_update_pushes_a_bitrate_switch_to_a_running_session(station):
    mount = station.radio.mount("main")
    registry = CountingRegistry()
    assert registry.register(DESKTOP, "ann").stream_bitrate_kbps == 320
    session = ListenerSession(
        mount, "mp3", 320, bitrates=functools.partial(registry.follow, "desk-1")
    )

    async def scenario() -> list[int]:
        stream = session.chunks()
        await stream.__anext__()
        assert registry.subscriber_count == 1 and mount.encoders == [("mp3", 320)]
        # The change comes from another thread, as a PATCH /devices request would.
        params = await asyncio.to_thread(
            registry.update, "desk-1", network_type="3g", bandwidth_mbps=0.5
        )
        assert params.stream_bitrate_kbps == 96
        heard = []
        for _ in range(400):  # a track is 4 s of program: the boundary comes soon
            await stream.__anext__()
            heard.append(session.bitrate_kbps)
            if session.bitrate_kbps == 96:
                break
        assert mount.listener_count() == 1
        await stream.aclose()
        return heard

    heard = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert heard[-1] == 96 and set(heard) <= {320, 96}
    assert registry.reads == 0  # pushed, never polled
    assert registry.subscriber_count == 0  # unsubscribed on close: no leak
    assert mount.listener_count() == 0
    assert _wait(lambda: mount.encoders == [])


def test_a_removed_device_leaves_the_session_on_what_it_plays(station):
    mount = station.radio.mount("main")
    registry = DeviceRegistry()
    registry.register(DESKTOP, "ann")
    session = ListenerSession(
        mount, "mp3", 320, bitrates=functools.partial(registry.follow, "desk-1")
    )

    async def scenario() -> None:
        stream = session.chunks()
        await stream.__anext__()
        await asyncio.to_thread(registry.update, "desk-1", bandwidth_mbps=0.5)
        await asyncio.to_thread(registry.remove, "desk-1")  # before any boundary came
        for _ in range(12):  # a chunk or more each: past 12 s of program, 4 s tracks
            await stream.__anext__()
        await stream.aclose()

    asyncio.run(asyncio.wait_for(scenario(), 60))
    assert session.bitrate_kbps == 320  # the 96 wish went with the device
    assert registry.subscriber_count == 0


def test_a_listener_response_stops_and_leaves_when_the_client_goes():
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
