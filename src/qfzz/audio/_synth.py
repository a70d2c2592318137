"""Short tonal pieces made with numpy, so a fresh station has real music to play.

The demo library must sound different per genre and mood (the DJ, the loudness stage and
the listeners all need audible variety), yet be generated in seconds. A piece is a chord
progression, a bass line and a melody drawn from one scale, plus optional noise drums.
Everything is float32 (what the encoders take; a third less CPU than float64 here).
Each note is rendered in one vectorised step from a band-limited wavetable; the only
Python loops run per note or per drum hit, never per sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = ["PieceSpec", "Timbre", "synthesize_piece"]

Timbre = Literal["sine", "soft", "organ", "pluck", "bright", "buzz"]
FloatArray = npt.NDArray[np.float32]

_SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
}
# Scale degrees (0-based) of the chord roots, one chord per bar.
_PROGRESSIONS: dict[str, tuple[tuple[int, ...], ...]] = {
    "major": ((0, 4, 5, 3), (0, 3, 4, 0), (0, 5, 3, 4), (3, 4, 2, 5), (0, 3, 0, 4)),
    "minor": ((0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 4), (0, 3, 6, 2), (5, 6, 0, 0)),
}
# Harmonic amplitudes (index k-1 is harmonic k) and (attack, decay, sustain, release) s.
_HARMONICS: dict[str, tuple[float, ...]] = {
    "sine": (1.0,),
    "soft": (1.0, 0.0, 0.11, 0.0, 0.04),
    "organ": (1.0, 0.6, 0.0, 0.35, 0.0, 0.2, 0.0, 0.12),
    "pluck": tuple(1.0 / k for k in range(1, 13)),
    "bright": tuple(1.0 / k for k in range(1, 25)),
    "buzz": tuple((1.0 / k if k % 2 else 0.0) for k in range(1, 20)),
}
_ENVELOPES: dict[str, tuple[float, float, float, float]] = {
    "sine": (0.08, 0.3, 0.8, 0.25),
    "soft": (0.03, 0.2, 0.7, 0.15),
    "organ": (0.01, 0.05, 0.9, 0.06),
    "pluck": (0.004, 0.35, 0.0, 0.05),
    "bright": (0.008, 0.15, 0.65, 0.06),
    "buzz": (0.005, 0.1, 0.6, 0.04),
}
_TABLE_SIZE = 2048  # a power of two, so wrapping the phase index is a bit mask
_TABLE_MASK = _TABLE_SIZE - 1


@dataclass(frozen=True, slots=True)
class PieceSpec:
    """Everything that decides how a piece sounds; the same spec always gives the same audio.

    ``energy`` in [0, 1] drives loudness, note density and percussion; ``drums`` lets a
    genre (classical, ambient) stay acoustic even when energetic.
    """

    seconds: float
    tempo_bpm: float
    root_midi: int = 57
    mode: Literal["major", "minor"] = "major"
    energy: float = 0.5
    timbre: Timbre = "soft"
    seed: int = 0
    drums: bool = True

    def __post_init__(self) -> None:
        if not 1.0 <= self.seconds <= 600.0:
            raise ValueError(f"seconds must be in [1, 600], got {self.seconds}")
        if not 30.0 <= self.tempo_bpm <= 300.0:
            raise ValueError(f"tempo_bpm must be in [30, 300], got {self.tempo_bpm}")
        if not 0.0 <= self.energy <= 1.0:
            raise ValueError(f"energy must be in [0, 1], got {self.energy}")
        if self.mode not in _SCALES:
            raise ValueError(f"mode must be 'major' or 'minor', got {self.mode!r}")
        if self.timbre not in _HARMONICS:
            raise ValueError(f"unknown timbre {self.timbre!r}")
        if not 24 <= self.root_midi <= 96:
            raise ValueError(f"root_midi must be in [24, 96], got {self.root_midi}")


def _midi_hz(note: float) -> float:
    return float(440.0 * 2.0 ** ((note - 69.0) / 12.0))


def _wavetable(timbre: str, freq: float, sample_rate: int) -> FloatArray:
    """One cycle of the timbre with only the harmonics below Nyquist (no aliasing)."""
    count = len(_HARMONICS[timbre])
    while count > 1 and count * freq >= 0.45 * sample_rate:
        count -= 1
    return _cycle(timbre, count)


@lru_cache(maxsize=128)
def _cycle(timbre: str, harmonics: int) -> FloatArray:
    """Cached: a piece has hundreds of notes but only a handful of distinct tables."""
    amps = np.asarray(_HARMONICS[timbre][:harmonics])
    phase = np.linspace(0.0, 2.0 * np.pi, _TABLE_SIZE, endpoint=False)
    wave = amps @ np.sin(np.outer(np.arange(1, harmonics + 1), phase))
    table: FloatArray = (wave / max(float(np.abs(wave).max()), 1e-9)).astype(np.float32)
    table.flags.writeable = False
    return table


@lru_cache(maxsize=256)
def _envelope(n: int, timbre: str, sample_rate: int) -> FloatArray:
    """Attack / decay / sustain, then a release ramp to zero at the note's end (no clicks).

    Cached: most notes of a piece share a handful of lengths.
    """
    attack, decay, sustain, release = _ENVELOPES[timbre]
    t = np.arange(n) / sample_rate
    env = np.minimum(t / attack, 1.0)
    env *= sustain + (1.0 - sustain) * np.exp(-np.maximum(t - attack, 0.0) / decay)
    rel = max(min(int(release * sample_rate), n // 2), 1)
    env[n - rel :] *= np.linspace(1.0, 0.0, rel)
    env = env.astype(np.float32)
    env.flags.writeable = False
    return env


class _Voice:
    """A mono buffer that notes are added into, with its own timbre and stereo position."""

    def __init__(self, n: int, timbre: str, pan: float, sample_rate: int) -> None:
        self.buf = np.zeros(n, dtype=np.float32)
        self.timbre = timbre
        self.pan = pan
        self.sr = sample_rate

    def note(self, start_s: float, length_s: float, midi: float, amp: float) -> None:
        start = int(start_s * self.sr)
        n = min(int(length_s * self.sr), self.buf.size - start)
        if n < 32 or amp <= 0.0:
            return
        freq = _midi_hz(midi)
        idx = (np.arange(n) * (freq * _TABLE_SIZE / self.sr)).astype(np.int64) & _TABLE_MASK
        wave = _wavetable(self.timbre, freq, self.sr)[idx]
        wave *= _envelope(n, self.timbre, self.sr)
        wave *= np.float32(amp)
        self.buf[start : start + n] += wave

    def mix_into(self, out: FloatArray) -> None:
        angle = (self.pan + 1.0) * np.pi / 4.0  # equal-power pan, -1 left .. +1 right
        out[0] += np.float32(np.cos(angle)) * self.buf
        out[1] += np.float32(np.sin(angle)) * self.buf


def _drum_sounds(rng: np.random.Generator, sample_rate: int) -> dict[str, FloatArray]:
    """A pitch-swept sine kick, a noise snare and a high-passed noise hat."""
    t = np.arange(int(0.35 * sample_rate)) / sample_rate
    sweep = 2.0 * np.pi * (50.0 * t + 100.0 * 0.04 * (1.0 - np.exp(-t / 0.04)))
    kick = np.sin(sweep) * np.exp(-t / 0.09)
    noise = rng.standard_normal(t.size)
    snare = (0.6 * noise + 0.4 * np.sin(2 * np.pi * 190.0 * t)) * np.exp(-t / 0.06)
    hat = np.diff(noise, prepend=0.0)[: int(0.08 * sample_rate)] * 0.5
    hat *= np.exp(-np.arange(hat.size) / (0.015 * sample_rate))
    for sound in (kick, snare, hat):
        sound[:16] *= np.linspace(0.0, 1.0, 16)  # soften the first samples
    return {"kick": kick, "snare": snare, "hat": hat}


def _add_drums(out: FloatArray, spec: PieceSpec, rng: np.random.Generator, sr: int) -> None:
    beat = 60.0 / spec.tempo_bpm
    sounds = _drum_sounds(rng, sr)
    e = spec.energy
    hits: list[tuple[str, float, float, float]] = []  # sound, time, gain, pan
    for b in range(int(spec.seconds / beat)):
        t = b * beat
        if b % 2 == 0 or e > 0.75:
            hits.append(("kick", t, 0.9, 0.0))
        if b % 2 == 1 and e > 0.5:
            hits.append(("snare", t, 0.45, 0.1))
        steps = 4 if e > 0.85 else 2
        for s in range(steps):
            accent = 1.0 if s == 0 else 0.6
            hits.append(("hat", t + s * beat / steps, 0.16 * accent * e, -0.4))
    for name, t, gain, pan in hits:
        sound = sounds[name]
        start = int(t * sr)
        n = min(sound.size, out.shape[1] - start)
        if n <= 0:
            continue
        angle = (pan + 1.0) * np.pi / 4.0
        out[0, start : start + n] += gain * np.cos(angle) * sound[:n]
        out[1, start : start + n] += gain * np.sin(angle) * sound[:n]


def _compose(spec: PieceSpec, rng: np.random.Generator, sr: int, n: int) -> FloatArray:
    """Chords, bass and melody from one scale and a seeded chord progression."""
    scale = _SCALES[spec.mode]
    e = spec.energy
    beat = 60.0 / spec.tempo_bpm
    bar = 4 * beat
    progression = _PROGRESSIONS[spec.mode][int(rng.integers(len(_PROGRESSIONS[spec.mode])))]

    def pitch(degree: int, octave_shift: int = 0) -> int:
        octave, step = divmod(degree, len(scale))
        return spec.root_midi + 12 * (octave + octave_shift) + scale[step]

    pad_timbre = "sine" if spec.timbre == "sine" else "soft"
    chords = _Voice(n, spec.timbre if e > 0.6 else pad_timbre, -0.25, sr)
    bass = _Voice(n, "soft" if e < 0.5 else "organ", 0.0, sr)
    melody = _Voice(n, spec.timbre, 0.3, sr)
    note_lengths = [0.25, 0.5, 0.5, 1.0] if e > 0.7 else [0.5, 1.0, 1.0, 2.0]
    if e < 0.3:
        note_lengths = [1.0, 2.0, 2.0, 4.0]
    degree = 7 + int(rng.integers(0, 5))
    for i in range(int(np.ceil(spec.seconds / bar))):
        t0 = i * bar
        root = progression[i % len(progression)]
        triad = [pitch(root + k) for k in (0, 2, 4)]
        if e > 0.6:  # rhythmic stabs on each beat
            for b in range(4):
                for p in triad:
                    chords.note(t0 + b * beat, beat * 0.9, p, 0.12)
        else:  # one sustained pad per bar
            for p in triad:
                chords.note(t0, bar * 1.02, p, 0.14)
        bass_step = beat / 2 if e > 0.7 else beat * (1 if e > 0.35 else 2)
        for j in range(round(bar / bass_step)):
            fifth = 4 if (j % 4 == 2 and e > 0.5) else 0
            bass.note(t0 + j * bass_step, bass_step * 0.95, pitch(root + fifth, -1), 0.3)
        t = t0
        while t < t0 + bar - 1e-6:
            length = min(float(rng.choice(note_lengths)) * beat, t0 + bar - t)
            on_beat = abs((t - t0) / beat - round((t - t0) / beat)) < 1e-6
            if on_beat and rng.random() < 0.6:  # land on a chord tone
                degree = root + 7 + int(rng.choice([0, 2, 4]))
            else:
                degree = int(np.clip(degree + int(rng.choice([-2, -1, -1, 1, 1, 2])), 4, 16))
            if rng.random() > 0.25 * (1.0 - e):  # calmer pieces breathe with rests
                melody.note(t, length * 0.95, pitch(degree), 0.22 + 0.08 * rng.random())
            t += length
    out = np.zeros((2, n), dtype=np.float32)
    for voice in (chords, bass, melody):
        voice.mix_into(out)
    return out


def _echo(x: FloatArray, delay_s: float, feedback: float, sr: int) -> FloatArray:
    """A few decaying taps: a cheap sense of space for calm pieces, vectorised per tap."""
    out = x.copy()
    d = int(delay_s * sr)
    for tap in range(1, 4):
        if d * tap >= x.shape[1]:
            break
        out[:, d * tap :] += (feedback**tap) * x[:: -1 if tap % 2 else 1, : -d * tap]
    return out


def synthesize_piece(spec: PieceSpec, sample_rate: int = 44100) -> npt.NDArray[np.float32]:
    """Render ``spec`` to float32 stereo samples, shape ``(2, samples)``.

    Peaks sit at about -1 dBFS times an energy-dependent gain, so calm pieces are quieter
    than energetic ones, as real catalogues are; the broadcast layer evens loudness out.
    """
    if not 8000 <= sample_rate <= 192000:
        raise ValueError(f"sample_rate must be in [8000, 192000], got {sample_rate}")
    rng = np.random.default_rng(spec.seed)
    n = round(spec.seconds * sample_rate)
    out = _compose(spec, rng, sample_rate, n)
    if spec.drums and spec.energy >= 0.3:
        _add_drums(out, spec, rng, sample_rate)
    if spec.energy < 0.6:
        out = _echo(out, 60.0 / spec.tempo_bpm * 0.75, 0.45 * (1.0 - spec.energy), sample_rate)
    fade_in = min(int((1.5 - spec.energy) * sample_rate), n // 4)
    fade_out = min(int(2.0 * sample_rate), n // 4)
    out[:, :fade_in] *= 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, fade_in))
    out[:, n - fade_out :] *= 0.5 + 0.5 * np.cos(np.linspace(0.0, np.pi, fade_out))
    peak = float(np.abs(out).max())
    if peak == 0.0:
        return out
    drive = 1.0 + 3.0 * spec.energy**2  # energetic pieces are denser, as if compressed
    shaped: FloatArray = np.tanh(out * (drive / peak)) / float(np.tanh(drive))
    shaped *= 10.0 ** (-1.0 / 20.0) * (0.45 + 0.55 * spec.energy) / float(np.abs(shaped).max())
    return shaped.astype(np.float32, copy=False)
