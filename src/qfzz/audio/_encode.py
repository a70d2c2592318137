"""Encode float PCM into audio files with PyAV (FFmpeg), atomically.

The container and codec follow the file extension. Every format goes through an
explicit ``av.AudioResampler`` that converts to the codec's sample format, rate and frame
size, so codecs with fixed frames (MP3, Opus, AAC) get exactly what they require, and
encoders are flushed so the last frame is never lost. Files are written to a hidden
temporary name and moved into place with ``os.replace``: a killed process never leaves
a half-written file under the final name.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
from av.audio.stream import AudioStream

__all__ = ["ENCODABLE_EXTENSIONS", "encode_audio", "encode_audio_file"]


@dataclass(frozen=True, slots=True)
class _Target:
    container: str
    codecs: tuple[str, ...]  # first one PyAV has wins
    rates: tuple[int, ...] = ()  # allowed sample rates; empty means any
    lossy: bool = True


_TARGETS: dict[str, _Target] = {
    ".mp3": _Target("mp3", ("libmp3lame",)),
    ".flac": _Target("flac", ("flac",), lossy=False),
    ".ogg": _Target("ogg", ("libvorbis", "libopus"), (48000,)),
    ".opus": _Target("opus", ("libopus",), (48000,)),
    ".m4a": _Target("ipod", ("aac",)),
    ".wav": _Target("wav", ("pcm_s16le",), lossy=False),
}
ENCODABLE_EXTENSIONS = frozenset(_TARGETS)


def _pick_codec(names: tuple[str, ...]) -> av.Codec:
    for name in names:
        with contextlib.suppress(av.FFmpegError, ValueError):
            return av.Codec(name, "w")
    raise ValueError(f"this PyAV build has none of the encoders {', '.join(names)}")


def _sample_format(codec: av.Codec) -> str:
    """A format that keeps float32's precision, else 16-bit (FLAC, WAV stay 16-bit).

    Planar 32-bit integers come first: LAME encodes them measurably faster than floats.
    """
    offered = [f.name for f in codec.audio_formats or ()]
    for name in ("s32p", "fltp", "flt", "s16", "s16p", "s32"):
        if name in offered:
            return name
    return offered[0] if offered else "fltp"


def _check_samples(samples: npt.NDArray[np.floating], sample_rate: int) -> np.ndarray:
    if samples.ndim == 1:
        samples = samples[np.newaxis, :]
    if samples.ndim != 2 or samples.shape[0] not in (1, 2):
        raise ValueError(f"samples must have shape (channels<=2, n), got {samples.shape}")
    if samples.shape[1] == 0:
        raise ValueError("samples are empty")
    if not np.isfinite(samples).all():
        raise ValueError("samples contain NaN or infinity")
    if not 8000 <= sample_rate <= 192000:
        raise ValueError(f"sample_rate must be in [8000, 192000], got {sample_rate}")
    return np.ascontiguousarray(np.clip(samples, -1.0, 1.0), dtype=np.float32)


def encode_audio(
    samples: npt.NDArray[np.floating],
    sample_rate: int,
    extension: str,
    *,
    bitrate_kbps: int = 192,
    fast: bool = False,
) -> bytes:
    """Encode ``(channels, n)`` float samples in [-1, 1] to the bytes of a whole file.

    ``extension`` (``".mp3"``, ``".flac"``, ``".ogg"``, ``".opus"``, ``".m4a"``,
    ``".wav"``) picks the container and codec; ``bitrate_kbps`` applies to lossy codecs
    (constant bitrate for MP3). ``fast`` trades encoder effort for speed (LAME's ``-q 7``
    instead of its default ``-q 3``, about twice as fast): right for generated material.
    """
    target = _TARGETS.get(extension.lower())
    if target is None:
        raise ValueError(f"cannot encode {extension!r}; use one of {sorted(_TARGETS)}")
    if not 8 <= bitrate_kbps <= 640:
        raise ValueError(f"bitrate_kbps must be in [8, 640], got {bitrate_kbps}")
    pcm = _check_samples(samples, sample_rate)
    codec = _pick_codec(target.codecs)
    rate = sample_rate
    if target.rates and rate not in target.rates:
        rate = target.rates[0]
    layout = "stereo" if pcm.shape[0] == 2 else "mono"
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=target.container) as container:
        options = {"compression_level": "7"} if fast and codec.name == "libmp3lame" else {}
        stream = container.add_stream(codec.name, rate=rate, layout=layout, options=options)
        if not isinstance(stream, AudioStream):  # narrows the type; cannot happen
            raise TypeError(f"{codec.name} did not give an audio stream")
        if target.lossy:
            stream.bit_rate = bitrate_kbps * 1000
        stream.format = _sample_format(codec)
        stream.codec_context.open()  # open now so frame_size is known before resampling
        variable = bool(codec.capabilities & av.codec.Capabilities.variable_frame_size)
        frame_size = stream.codec_context.frame_size
        resampler = av.AudioResampler(
            format=stream.format,
            layout=layout,
            rate=rate,
            frame_size=None if variable or frame_size == 0 else frame_size,
        )
        source = av.AudioFrame.from_ndarray(pcm, format="fltp", layout=layout)
        source.sample_rate = sample_rate
        source.pts = 0
        for frame in [*resampler.resample(source), *resampler.resample(None)]:
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()


def write_atomically(path: Path, data: bytes, *, mode: int = 0o666) -> None:
    """Write ``data`` to a hidden sibling of ``path``, then move it into place.

    The ``.part`` suffix keeps library scanners away from the temporary file; the file is
    created with the usual umask-derived mode (not ``mkstemp``'s 0600) so other users of
    the music folder can read it — or with ``mode`` (0600 for a secret such as a key).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def encode_audio_file(
    samples: npt.NDArray[np.floating],
    sample_rate: int,
    path: Path,
    *,
    bitrate_kbps: int = 192,
    fast: bool = False,
) -> None:
    """Encode ``samples`` into ``path``; the extension picks the format (see :func:`encode_audio`).

    The file appears under its final name only once complete.
    """
    data = encode_audio(samples, sample_rate, path.suffix, bitrate_kbps=bitrate_kbps, fast=fast)
    write_atomically(path, data)
