"""Loudness measurement and the gain that brings a track to the station's level.

A gated RMS in the spirit of EBU R128 (400 ms blocks; blocks below -70 dBFS and more than
10 dB under the ungated mean are ignored) without the K-weighting filter: close enough to
make quiet and loud tracks sit at a similar level, and cheap enough to run on every track
the first time it goes on air.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from qfzz.audio._decode import SAMPLE_RATE, Pcm

TARGET_DBFS = -18.0
MAX_GAIN_DB = 18.0
PEAK_CEILING = 0.98
_BLOCK = int(0.4 * SAMPLE_RATE)


@dataclass(frozen=True, slots=True)
class Loudness:
    level_dbfs: float  # gated RMS level
    peak: float

    def gain(self, target_dbfs: float = TARGET_DBFS) -> float:
        """Linear gain to the target level, limited so the peak stays under the ceiling."""
        if self.level_dbfs == -math.inf or self.peak <= 0:
            return 1.0
        wanted_db = min(MAX_GAIN_DB, target_dbfs - self.level_dbfs)
        gain = 10 ** (wanted_db / 20)
        return float(min(gain, PEAK_CEILING / self.peak))


def measure(blocks: Iterable[Pcm]) -> Loudness:
    powers: list[float] = []
    peak = 0.0
    carry = np.zeros((2, 0), dtype=np.float32)
    for block in blocks:
        if block.size:
            peak = max(peak, float(np.abs(block).max()))
        data = np.concatenate([carry, block], axis=1) if carry.shape[1] else block
        whole = data.shape[1] // _BLOCK * _BLOCK
        if whole:
            chunks = data[:, :whole].reshape(2, -1, _BLOCK)
            powers.extend(np.mean(np.square(chunks, dtype=np.float64), axis=(0, 2)).tolist())
        carry = data[:, whole:]
    if carry.shape[1]:
        powers.append(float(np.mean(np.square(carry, dtype=np.float64))))
    level = _gated_level(np.asarray(powers))
    return Loudness(level, peak)


def _gated_level(powers: np.ndarray) -> float:
    audible = powers[powers > 10 ** (-70 / 10)]
    if audible.size == 0:
        return -math.inf
    relative = audible[audible > np.mean(audible) * 10 ** (-10 / 10)]
    return float(10 * np.log10(np.mean(relative if relative.size else audible)))
