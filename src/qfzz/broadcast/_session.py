"""One listener of a mount, from tuning in to leaving: the bytes it is sent, in order.

A listener reads the shared chunks of its encoder (``Mount.tune_in``) and is sent them as
they come: first the stream's header, then a burst from ``burst_seconds`` back, then the
live edge. A slow listener falls behind in the ring; when its place is dropped it is moved
to the live edge, and after ``MAX_EVICTIONS`` moves it is let go, so it never blocks the
encoder or the other listeners. ICY listeners get the track titles interleaved.

A listener whose device decides its bitrate follows the device: the device registry pushes
each change (from whatever thread made it) and the session moves to the new encoder at
the next track boundary, from the same point in the program. The session never asks the
registry; it only hears what is pushed, so a thousand listeners cost the registry nothing
between changes.

The session knows nothing of HTTP: the API parses, authorizes and wraps ``chunks()`` in
its response; a web-framework-free ``disconnected`` check is all it is given.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Protocol

from qfzz.audio import Codec
from qfzz.broadcast._chunks import Chunk, Mark
from qfzz.broadcast._icy import IcyWriter
from qfzz.broadcast._mount import Mount, Tuning
from qfzz.streams import EndOfStream, IndexDropped

log = logging.getLogger(__name__)

#: Times a listener may fall out of the ring and be moved to the live edge before it is
#: let go: a client that cannot keep up with the stream at all should not hold a reader.
MAX_EVICTIONS = 3
#: How long a read waits for a chunk before the session checks the client is still there.
READ_TIMEOUT_SECONDS = 5.0
_BATCH = 64


class StreamParams(Protocol):
    """What the session needs of a device's streaming parameters (``qfzz.edge`` gives
    ``StreamingParams``; broadcast does not depend on edge, so it names only this)."""

    @property
    def stream_bitrate_kbps(self) -> int: ...


#: ``push`` receives a device's parameters now and after each change, or None when the
#: listener may no longer follow the device (removed, moved to another listener): it keeps
#: what it plays. Called from any thread. A feed subscribes ``push`` and returns the
#: function that unsubscribes it (``DeviceRegistry.follow`` bound to one device is one).
BitrateFeed = Callable[[Callable[[StreamParams | None], None]], Callable[[], None]]


class _Wish:
    """The bitrate the listener's device wants, owned by the event loop.

    Pushes come from request threads; each is handed to the loop with
    ``call_soon_threadsafe``, so ``bitrate`` is only ever written and read on the loop.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.bitrate: int | None = None

    def push(self, params: StreamParams | None) -> None:
        wanted = None if params is None else params.stream_bitrate_kbps
        with contextlib.suppress(RuntimeError):  # the loop closed after the session did
            self._loop.call_soon_threadsafe(self._set, wanted)

    def _set(self, wanted: int | None) -> None:
        self.bitrate = wanted


class ListenerSession:
    """One listener of ``mount`` at ``(codec, bitrate_kbps)``; iterate ``chunks()`` once.

    ``bitrates``: the device's feed, when the device decides the bitrate (it may change).
    ``disconnected``: asked when no audio came for a while, to let a gone client go.
    """

    def __init__(
        self,
        mount: Mount,
        codec: Codec,
        bitrate_kbps: int,
        *,
        icy: bool = False,
        bitrates: BitrateFeed | None = None,
        disconnected: Callable[[], Awaitable[bool]] | None = None,
        read_timeout: float = READ_TIMEOUT_SECONDS,
    ) -> None:
        self.mount = mount
        self.codec = codec
        self._bitrate = bitrate_kbps
        self._icy = icy
        self._bitrates = bitrates
        self._disconnected = disconnected
        self._read_timeout = read_timeout
        self._evictions = 0

    @property
    def bitrate_kbps(self) -> int:
        """The bitrate heard now: the one asked for, until the device's switch."""
        return self._bitrate

    @property
    def evictions(self) -> int:
        """How often the listener fell out of the ring and was moved to the live edge."""
        return self._evictions

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        """The listener's bytes. Close it (``aclose``) to leave the mount at once."""
        writer = IcyWriter() if self._icy else None
        last_track: int | None = None
        at: float | None = None  # where in the program to start: None for a burst
        async with contextlib.AsyncExitStack() as stack:
            wish: _Wish | None = None
            if self._bitrates is not None:
                wish = _Wish(asyncio.get_running_loop())
                stack.callback(self._bitrates(wish.push))  # unsubscribed when done
            while True:
                async with self._tuned(at) as tuning:
                    header_sent = False
                    switch: tuple[Mark, int] | None = None
                    while switch is None:
                        chunks = await self._next(tuning)
                        if chunks is None:
                            return
                        if chunks[0].start < tuning.start:  # the first of a burst or switch
                            chunks[0] = chunks[0].since(tuning.start)
                        out: list[bytes] = []
                        if not header_sent:  # every listener starts with the stream's header
                            header = self.mount.header(self.codec, self.bitrate_kbps)
                            title = chunks[0].marks[0].title
                            out.append(writer.write(header, title) if writer else header)
                            header_sent = True
                        for chunk in chunks:
                            if wish is not None:
                                switch, last_track = _switch_point(
                                    chunk, last_track, self.bitrate_kbps, wish.bitrate
                                )
                                if switch is not None:
                                    chunk = chunk.before(switch[0])
                            if writer is None:
                                out.append(chunk.data)
                            else:
                                out.extend(writer.write(d, m.title) for d, m in chunk.segments())
                            if switch is not None:
                                break
                        if out:
                            yield out[0] if len(out) == 1 else b"".join(out)
                # The device's network changed: move to its new encoder at this track
                # boundary, from the same point in the program. An Ogg stream goes on as a
                # new chain, so the new encoder's header is sent first.
                assert switch is not None  # the only way out of a tuning but return
                mark, self._bitrate = switch
                at = mark.at

    @contextlib.asynccontextmanager
    async def _tuned(self, at: float | None) -> AsyncIterator[Tuning]:
        """A place on the current encoder, held (and counted by the mount) while in use."""
        codec, bitrate = self.codec, self.bitrate_kbps
        tuning = self.mount.tune_in(codec, bitrate, at=at)
        self.mount = tuning.mount  # a retired mount handed the listener on
        try:
            async with tuning.reader:
                yield tuning
        finally:
            tuning.mount.leave(codec, bitrate)

    async def _next(self, tuning: Tuning) -> list[Chunk] | None:
        """The next chunks, or None when the listener is done: the stream ended, the
        client went, or it fell out of the ring more than ``MAX_EVICTIONS`` times."""
        while True:
            try:
                chunks = await tuning.reader.aread_many(
                    _BATCH, block=True, timeout=self._read_timeout
                )
            except IndexDropped:
                self._evictions += 1
                if self._evictions > MAX_EVICTIONS:
                    log.info("dropping a listener of %s that cannot keep up", self.mount.name)
                    return None
                tuning.to_live_edge()
                continue
            except EndOfStream:
                return None
            if chunks:
                return chunks
            if self._disconnected is not None and await self._disconnected():
                return None


def _switch_point(
    chunk: Chunk, last_track: int | None, bitrate: int, wanted: int | None
) -> tuple[tuple[Mark, int] | None, int | None]:
    """The first track boundary in ``chunk`` if the device now wants another bitrate
    (with that bitrate), and the last track seen."""
    for mark in chunk.marks:
        boundary = last_track is not None and mark.track_id != last_track
        last_track = mark.track_id
        if boundary and wanted is not None and wanted != bitrate:
            return (mark, wanted), last_track
    return None, last_track
