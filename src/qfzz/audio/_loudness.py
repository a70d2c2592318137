"""Loudness measurement and the gain that brings a track to the station's level.

Loudness is EBU R128 / ITU-R BS.1770 integrated loudness in LUFS (K-weighted, gated at
-70 LUFS absolute and 10 LU under the ungated level), measured by FFmpeg's ``ebur128``
filter (:class:`~qfzz.audio._meter.Meter`) — the same meter that measures an upload when
it is converted, so a figure stored then and one measured here are interchangeable.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import av
import numpy as np

from qfzz.audio._decode import SAMPLE_RATE, Pcm
from qfzz.audio._meter import Meter

#: The station's level. -18 LUFS is ReplayGain 2.0's reference level, so the stream sits
#: where players that normalise files already put music; it is quieter than the -14 LUFS
#: of the big streaming services on purpose: there is no limiter on air, only a gain under
#: a peak ceiling, and the headroom lets a quiet track (old masters, classical, often
#: -20 to -25 LUFS) actually be brought up instead of being held down by its peaks.
#: (EBU R128's -23 LUFS is meant for broadcast with speech and would make music thin
#: beside every other stream.)
TARGET_LUFS = -18.0
#: At most this much boost: a near-silent track (a long fade, room tone) must not be
#: raised into noise.
MAX_GAIN_DB = 18.0
#: The sample peak a track may reach after its gain (linear; about -0.2 dBFS).
PEAK_CEILING = 0.98


@dataclass(frozen=True, slots=True)
class Loudness:
    """A track's integrated loudness (LUFS; None for silence) and sample peak (linear)."""

    lufs: float | None
    peak: float

    def gain(self, target_lufs: float = TARGET_LUFS) -> float:
        """Linear gain to ``target_lufs``: at most :data:`MAX_GAIN_DB` up, and never so
        much that the peak passes :data:`PEAK_CEILING`. Silence stays at unity."""
        if self.lufs is None or self.peak <= 0:
            return 1.0
        wanted_db = min(MAX_GAIN_DB, target_lufs - self.lufs)
        gain = 10 ** (wanted_db / 20)
        return float(min(gain, PEAK_CEILING / self.peak))


def measure(blocks: Iterable[Pcm]) -> Loudness:
    """The loudness of ``(2, n)`` float32 blocks at :data:`SAMPLE_RATE` (what ``decode``
    yields), measured as one programme."""
    meter = Meter(rate=SAMPLE_RATE, layout="stereo", sample_format="fltp")
    samples = 0
    for block in blocks:
        if not block.shape[1]:
            continue
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(block, dtype=np.float32), format="fltp", layout="stereo"
        )
        frame.sample_rate = SAMPLE_RATE
        frame.pts = samples
        samples += block.shape[1]
        meter.push(frame)
    meter.push(None)
    lufs, peak = meter.result()
    return Loudness(lufs, peak)
