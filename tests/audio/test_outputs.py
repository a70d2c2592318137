"""The background encoder: frames in order, errors raised in the producer's thread."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import av
import numpy as np
import pytest

from qfzz.audio._outputs import BackgroundOutput, EncodedOutput


class Recording:
    """Stands in for an EncodedOutput: remembers frames, fails on the one it is told to."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.path = Path("x.mp3")
        self.rate = 44100
        self.samples = 0
        self.seen: list[int] = []
        self.fail_at = fail_at
        self.closed = self.aborted = False

    def write(self, frame: Any) -> None:
        if len(self.seen) == self.fail_at:
            raise ValueError("encoder broke")
        self.seen.append(int(frame.to_ndarray()[0, 0]))
        self.samples += frame.samples

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True


def _frame(n: int) -> av.AudioFrame:
    data = np.full((1, 1152 * 2), n, dtype=np.int16)
    frame = av.AudioFrame.from_ndarray(data, format="s16", layout="stereo")
    frame.sample_rate = 44100
    return frame


def test_frames_reach_the_encoder_in_order_and_close_waits_for_them():
    inner = Recording()
    out = BackgroundOutput(cast(EncodedOutput, inner))
    for n in range(500):  # far more than the queue holds
        out.write(_frame(n))
    out.close()
    assert inner.seen == list(range(500)) and inner.closed
    assert out.samples == 500 * 1152


def test_an_encoder_error_reaches_the_producer_and_nothing_is_closed():
    inner = Recording(fail_at=3)
    out = BackgroundOutput(cast(EncodedOutput, inner))
    with pytest.raises(ValueError, match="encoder broke"):
        for n in range(500):
            out.write(_frame(n))
        out.close()
    out.abort()
    assert inner.seen == [0, 1, 2] and not inner.closed and inner.aborted
