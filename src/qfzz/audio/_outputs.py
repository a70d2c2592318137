"""Encoded files being written by a conversion, in the caller's thread or in their own.

FFmpeg's encoders run with the GIL released (PyAV's ``encode``), so an encoder fed from
another thread really runs beside the decoder. A conversion puts its slowest encoder there:
a 4-minute MP3 at 256 kbps takes LAME ~7 s on this class of machine, as long as decoding,
metering, the preview and the Opus encode together — on two cores, that halves the wait
from an upload's last byte to its content being ready, and changes no output byte.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from pathlib import Path

import av
from av.audio.stream import AudioStream

#: Frames waiting for a background encoder (an MP3 frame is 1,152 samples: ~1.7 s of audio
#: queued at most, a few hundred KiB; the decoder waits when the encoder falls behind).
QUEUE_FRAMES = 64
_END = None


class EncodedOutput:
    """One encoded file being written: a container, its stream and the samples so far."""

    def __init__(self, path: Path, fmt: str, codec: str, rate: int, layout: str, kbps: int):
        self.path = path
        self.rate = rate
        self.layout = layout
        self.kbps = kbps
        options = {"vbr": "constrained"} if codec == "libopus" else {}
        self.container = av.open(str(path), mode="w", format=fmt)
        stream = self.container.add_stream(codec, rate=rate, layout=layout, options=options)
        if not isinstance(stream, AudioStream):  # narrows the type; cannot happen
            raise TypeError(f"{codec} did not give an audio stream")
        stream.bit_rate = kbps * 1000
        stream.codec_context.open()
        self.stream = stream
        self.samples = 0

    def write(self, frame: av.AudioFrame) -> None:
        frame.pts = self.samples
        self.samples += frame.samples
        self.container.mux(self.stream.encode(frame))

    def close(self) -> None:
        self.container.mux(self.stream.encode(None))
        self.container.close()
        fsync_file(self.path)

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self.container.close()


class BackgroundOutput:
    """An :class:`EncodedOutput` fed through a bounded queue to its own thread.

    A frame handed to :meth:`write` belongs to the encoder from then on (the caller must not
    touch it again). An encoder error is raised by the next ``write`` or by ``close``."""

    def __init__(self, output: EncodedOutput) -> None:
        self._output = output
        self.path = output.path
        self.rate = output.rate
        self._frames: queue.Queue[av.AudioFrame | None] = queue.Queue(QUEUE_FRAMES)
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, name=f"encode-{output.path.name}", daemon=True
        )
        self._thread.start()

    @property
    def samples(self) -> int:
        """Samples encoded (final once :meth:`close` returned)."""
        return self._output.samples

    def _run(self) -> None:
        while (frame := self._frames.get()) is not _END:
            if self._error is not None:
                continue  # drain: the producer learns of the error on its next write
            try:
                self._output.write(frame)
            except BaseException as exc:  # handed to the producer's thread
                self._error = exc

    def write(self, frame: av.AudioFrame) -> None:
        if self._error is not None:
            raise self._error
        self._frames.put(frame)

    def close(self) -> None:
        self._frames.put(_END)
        self._thread.join()
        if self._error is not None:
            raise self._error
        self._output.close()

    def abort(self) -> None:
        if self._thread.is_alive():
            self._error = self._error or RuntimeError("aborted")
            self._frames.put(_END)
            self._thread.join()
        self._output.abort()


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
