"""Encoders for endless streams: PCM in, self-contained chunks out.

MP3 comes out as MP3 frames (any frame is a valid place to start listening). Opus goes
into Ogg pages; the two header pages (OpusHead, OpusTags) are kept apart in ``header``
because every listener must receive them first, whenever they join.
"""

from __future__ import annotations

import io
from typing import Literal

import av
import numpy as np
from av.audio.stream import AudioStream

from qfzz.audio._decode import SAMPLE_RATE, Pcm

Codec = Literal["mp3", "opus"]
CONTENT_TYPES: dict[str, str] = {"mp3": "audio/mpeg", "opus": "audio/ogg"}
#: Ogg page length: long enough that page overhead stays under 1 kbps, short enough that
#: a listener joins within a fraction of a second.
OGG_PAGE_US = 200_000


class _Sink(io.RawIOBase):
    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.chunks.append(bytes(data))
        return len(data)

    def take(self) -> list[bytes]:
        chunks, self.chunks = self.chunks, []
        return chunks


class LiveEncoder:
    """Encode a continuous stream of ``(2, n)`` float32 PCM at 44.1 kHz."""

    def __init__(self, codec: Codec, bitrate_kbps: int) -> None:
        if codec not in CONTENT_TYPES:
            raise ValueError(f"codec must be one of {sorted(CONTENT_TYPES)}")
        if not 8 <= bitrate_kbps <= 512:
            raise ValueError("bitrate_kbps must be in [8, 512]")
        self.codec = codec
        self.bitrate_kbps = bitrate_kbps
        self.content_type = CONTENT_TYPES[codec]
        self.header = b""
        self._samples = 0
        if codec == "mp3":
            self._ctx = av.CodecContext.create("libmp3lame", "w")
            self._ctx.sample_rate = SAMPLE_RATE
            self._ctx.layout = "stereo"
            self._ctx.format = "s16p"
            self._ctx.bit_rate = bitrate_kbps * 1000
            # LAME -q 5 (FFmpeg's compression_level): its command line's own default for
            # speed and quality; -q 3 costs ~1.5x the CPU for a difference few can hear
            # at radio bitrates, and the encoder runs for as long as the station does.
            self._ctx.options = {"compression_level": "5"}
            self._ctx.open()
            rate, fmt = SAMPLE_RATE, "s16p"
            frame_size = self._ctx.frame_size
        else:
            self._sink = _Sink()
            self._pending = bytearray()
            self._out = av.open(
                self._sink, "w", format="ogg", options={"page_duration": str(OGG_PAGE_US)}
            )
            stream = self._out.add_stream("libopus", rate=48000, layout="stereo")
            if not isinstance(stream, AudioStream):
                raise TypeError("libopus did not give an audio stream")
            stream.bit_rate = bitrate_kbps * 1000
            stream.codec_context.open()
            self._stream = stream
            rate, fmt = 48000, stream.format.name
            frame_size = stream.codec_context.frame_size
        self._resampler = av.AudioResampler(
            format=fmt, layout="stereo", rate=rate, frame_size=frame_size or None
        )

    def encode(self, pcm: Pcm) -> list[bytes]:
        """Chunks ready to send (may be empty while the encoder fills a frame)."""
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(np.clip(pcm, -1.0, 1.0), dtype=np.float32),
            format="fltp",
            layout="stereo",
        )
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._samples
        self._samples += pcm.shape[1]
        return self._encode_frames(self._resampler.resample(frame))

    def flush(self) -> list[bytes]:
        chunks = self._encode_frames(self._resampler.resample(None))
        if self.codec == "mp3":
            return chunks + [bytes(p) for p in self._ctx.encode(None)]
        self._out.mux(self._stream.encode(None))
        self._out.close()
        return chunks + self._pages()

    def _encode_frames(self, frames: list[av.AudioFrame]) -> list[bytes]:
        if self.codec == "mp3":
            return [bytes(p) for f in frames for p in self._ctx.encode(f)]
        for f in frames:
            self._out.mux(self._stream.encode(f))
        return self._pages()

    def _pages(self) -> list[bytes]:
        """Whole Ogg pages: the muxer's writes do not fall on page boundaries."""
        self._pending += b"".join(self._sink.take())
        pages = []
        while True:
            page = _next_page(self._pending)
            if page is None:
                break
            del self._pending[: len(page)]
            body = page[27 + page[26] :]
            if body.startswith((b"OpusHead", b"OpusTags")):
                self.header += page
            else:
                pages.append(bytes(page))
        return pages


def _next_page(data: bytearray) -> bytearray | None:
    """The complete Ogg page at the start of ``data``, if it is all there."""
    if len(data) < 27:
        return None
    if data[:4] != b"OggS":
        raise ValueError("the Ogg muxer wrote something that is not a page")
    header = 27 + data[26]
    if len(data) < header:
        return None
    end = header + sum(data[27:header])
    return data[:end] if len(data) >= end else None
