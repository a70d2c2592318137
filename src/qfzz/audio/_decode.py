"""Decoding any catalog file to the one internal format: float32 stereo at 44.1 kHz.

Everything downstream (mixing, loudness, encoders) sees only ``(2, n)`` float32 arrays,
so formats, sample rates and channel layouts are dealt with here, once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from qfzz.audio._files import open_regular
from qfzz.errors import UnreadableFile

SAMPLE_RATE = 44100
CHANNELS = 2

Pcm = npt.NDArray[np.float32]


def decode(path: Path | str, *, start_seconds: float = 0.0) -> Iterator[Pcm]:
    """Yield ``(2, n)`` float32 blocks of the file from ``start_seconds`` on.

    Raises ``UnreadableFile`` if the file cannot be opened or decoded at all (also when
    it is not a regular file: a FIFO must never block the broadcast); an error in the
    middle of a file ends the iteration with the same error, after what was decoded.
    """
    try:
        handle = open_regular(path)
    except OSError as exc:
        raise UnreadableFile(f"cannot open {path}: {exc}") from exc
    try:
        container = av.open(handle, mode="r")
    except (av.FFmpegError, OSError) as exc:
        handle.close()
        raise UnreadableFile(f"cannot open {path}: {exc}") from exc
    try:
        if not container.streams.audio:
            raise UnreadableFile(f"{path} has no audio stream")
        stream = container.streams.audio[0]
        if start_seconds > 0:
            container.seek(int(start_seconds * av.time_base), any_frame=False)
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=SAMPLE_RATE)
        skip = 0
        first = True
        for frame in container.decode(stream):
            if first and start_seconds > 0 and frame.time is not None:
                # seeking lands on a packet boundary before the target: drop the surplus
                skip = max(0, round((start_seconds - frame.time) * SAMPLE_RATE))
            first = False
            for out in resampler.resample(frame):
                block = out.to_ndarray().astype(np.float32, copy=False)
                if skip:
                    cut = min(skip, block.shape[1])
                    block, skip = block[:, cut:], skip - cut
                if block.shape[1]:
                    yield block
        for out in resampler.resample(None):
            yield out.to_ndarray().astype(np.float32, copy=False)
    except av.FFmpegError as exc:
        raise UnreadableFile(f"cannot decode {path}: {exc}") from exc
    finally:
        container.close()
        handle.close()


def decode_all(path: Path | str) -> Pcm:
    blocks = list(decode(path))
    if not blocks:
        raise UnreadableFile(f"{path} decoded to no audio")
    return np.concatenate(blocks, axis=1)
