"""Derivatives of an uploaded track, made in one decode pass: preview, low, high, loudness.

What listeners get from one upload (issue 16):

* ``preview``: the first :data:`PREVIEW_SECONDS` (the whole track if shorter) as MP3 at
  128 kbps CBR. MP3 because a preview is for anybody's player, and every browser and
  player plays MP3; 128 kbps because a preview is for deciding, not for keeping. It is
  cut hard (no fade): players fade on stop if they want to.
* ``low``: the whole track as Opus at 96 kbps in Ogg (``low.opus``, ``audio/ogg``): the
  format the station already streams, played by Firefox, Chrome, Android, and the
  Subsonic apps; WebM would only help browsers. Constrained VBR keeps the bitrate near
  96 kbps for bandwidth planning while letting the encoder spend bits where they matter.
* ``high``: MP3 at 256 kbps CBR, or the original file itself when it is lossless (FLAC,
  ALAC, WAV…): re-encoding a lossless file to MP3 would throw away what the creator gave.
  The original is hard-linked into the directory (copied across file systems), so the
  derivative directory stands on its own.
* the integrated loudness (EBU R128 / ITU-R BS.1770-4, in LUFS) and the sample peak,
  measured on the decoded source frames by FFmpeg's own ``ebur128`` filter run in the
  same pass. Using the reference meter instead of a second implementation is what makes
  the figure match ``ffmpeg -af ebur128`` (the listener-facing gain is computed from it).

The source is decoded exactly once; each packet that fails to decode is skipped and
counted (one damaged frame in an old MP3 should not lose the track), but a file whose
packets mostly fail, or that yields no audio at all, raises :class:`UnreadableFile`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
from av.audio.stream import AudioStream

from qfzz.audio._files import open_regular
from qfzz.audio._meter import Meter
from qfzz.audio._outputs import BackgroundOutput, EncodedOutput, fsync_file
from qfzz.errors import UnreadableFile

PREVIEW_SECONDS = 30.0
PREVIEW_KBPS = 128
LOW_KBPS = 96
HIGH_KBPS = 256
#: Share of packets allowed to fail before a file counts as undecodable (and at most this
#: few failures are always forgiven, so a short file with one bad frame still converts).
MAX_BAD_SHARE = 0.05
MIN_BAD_FORGIVEN = 3
_MP3_RATES = (32000, 44100, 48000)
#: The extension a kept original gets, by the container FFmpeg found: uploads are often
#: stored under an id with no extension, and players go by the name they are served.
_ORIGINAL_EXTENSIONS = {
    "flac": ".flac",
    "wav": ".wav",
    "w64": ".w64",
    "aiff": ".aiff",
    "mov,mp4,m4a,3gp,3g2,mj2": ".m4a",
    "wv": ".wv",
    "ape": ".ape",
    "tta": ".tta",
    "ogg": ".ogg",
    "matroska,webm": ".mka",
    "caf": ".caf",
}


class NotAudio(UnreadableFile):
    """The file opens as media but has no audio stream (an image, a video without sound)."""

    code = "not_audio"


@dataclass(frozen=True, slots=True)
class Derivative:
    """One file made for listeners; ``file`` is its name inside the output directory."""

    name: str  # "preview", "low" or "high"
    file: str
    codec: str  # "mp3", "opus", or the original's codec ("flac", "alac", "pcm_s16le"…)
    bitrate_kbps: int  # the target for encodes; the original's average when kept
    seconds: float
    sample_rate: int
    channels: int
    original: bool = False


@dataclass(frozen=True, slots=True)
class Derived:
    """What :func:`derive` made and measured."""

    derivatives: tuple[Derivative, ...]
    loudness_lufs: float | None  # None for digital silence (no block above -70 LUFS)
    peak: float  # sample peak, linear (1.0 = full scale)
    seconds: float
    source_codec: str
    lossless: bool
    skipped_packets: int


def derive(source: Path, out_dir: Path, *, preview_seconds: float = PREVIEW_SECONDS) -> Derived:
    """Decode ``source`` once into ``preview.mp3``, ``low.opus`` and ``high.*`` in ``out_dir``.

    Raises :class:`NotAudio` when the file is media without sound, :class:`UnreadableFile`
    when it cannot be opened or decoded. Files already in ``out_dir`` with those names are
    overwritten; the caller owns the directory (and removes it on failure).
    """
    try:
        handle = open_regular(source)
    except OSError as exc:
        raise UnreadableFile(f"cannot open {source.name}: {exc}") from exc
    try:
        try:
            container = av.open(handle, mode="r")
        except (av.FFmpegError, OSError) as exc:
            raise UnreadableFile(f"not a media file FFmpeg knows: {exc}") from exc
        with container:
            if not container.streams.audio:
                raise NotAudio(f"{source.name} has no audio stream")
            stream = container.streams.audio[0]
            if stream.rate <= 0 or stream.codec_context.layout.nb_channels <= 0:
                raise UnreadableFile(f"{source.name}: no sample rate or channels in its audio")
            try:
                return _derive(container, stream, source, out_dir, preview_seconds)
            except av.FFmpegError as exc:
                if isinstance(exc, MemoryError):  # out of memory is not the file's fault
                    raise
                raise UnreadableFile(f"cannot decode {source.name}: {exc}") from exc
    finally:
        handle.close()


def _derive(
    container: av.container.InputContainer,
    stream: AudioStream,
    source: Path,
    out_dir: Path,
    preview_seconds: float,
) -> Derived:
    codec = stream.codec_context.codec
    codec_name = codec.canonical_name  # "mp3", not the decoder's "mp3float"
    lossless = bool(codec.lossless and not codec.lossy)
    layout = "mono" if stream.codec_context.layout.nb_channels == 1 else "stereo"
    channels = 1 if layout == "mono" else 2
    mp3_rate = stream.rate if stream.rate in _MP3_RATES else 44100
    preview_samples = round(preview_seconds * mp3_rate)
    preview = EncodedOutput(
        out_dir / "preview.mp3", "mp3", "libmp3lame", mp3_rate, layout, PREVIEW_KBPS
    )
    outputs: list[EncodedOutput | BackgroundOutput] = [preview]
    try:
        low = EncodedOutput(out_dir / "low.opus", "ogg", "libopus", 48000, layout, LOW_KBPS)
        outputs.append(low)
        high = None
        if not lossless:
            high = BackgroundOutput(
                EncodedOutput(
                    out_dir / "high.mp3", "mp3", "libmp3lame", mp3_rate, layout, HIGH_KBPS
                )
            )
            outputs.append(high)
        to_mp3 = _resampler(preview)
        to_opus = _resampler(low)
        meter = Meter(stream)
        decoded = good = bad = 0

        def consume(frame: av.AudioFrame | None) -> None:
            nonlocal decoded
            if frame is not None:
                decoded += frame.samples
                frame.pts = None  # our own timeline: gaps in the source's are not ours
            meter.push(frame)
            for out in to_mp3.resample(frame):
                if preview.samples < preview_samples:
                    preview.write(_head(out, preview_samples - preview.samples))
                if high is not None:  # last: the frame belongs to the encoder's thread now
                    high.write(out)
            for out in to_opus.resample(frame):
                low.write(out)

        for packet in container.demux(stream):  # ends with the packet that flushes
            try:
                frames = stream.codec_context.decode(packet)
            except av.InvalidDataError:
                bad += 1
                continue
            good += 1
            for frame in frames:
                consume(frame)
        if decoded == 0:
            raise UnreadableFile(f"{source.name}: no audio could be decoded ({bad} bad packets)")
        if bad > MIN_BAD_FORGIVEN and bad > MAX_BAD_SHARE * (good + bad):
            raise UnreadableFile(f"{source.name}: {bad} of {good + bad} packets do not decode")
        consume(None)
        for output in outputs:
            output.close()
    except BaseException:
        for output in outputs:
            output.abort()
        raise
    loudness, peak = meter.result()
    seconds = decoded / stream.rate
    made = [
        Derivative(
            "preview", preview.path.name, "mp3", PREVIEW_KBPS, _secs(preview), mp3_rate, channels
        ),
        Derivative("low", low.path.name, "opus", LOW_KBPS, _secs(low), 48000, channels),
    ]
    if high is not None:
        made.append(
            Derivative("high", high.path.name, "mp3", HIGH_KBPS, _secs(high), mp3_rate, channels)
        )
    else:
        made.append(
            _keep_original(source, out_dir, container.format.name, codec_name, stream, seconds)
        )
    return Derived(tuple(made), loudness, peak, seconds, codec_name, lossless, bad)


def _resampler(output: EncodedOutput) -> av.AudioResampler:
    ctx = output.stream.codec_context
    return av.AudioResampler(
        format=ctx.format.name,
        layout=output.layout,
        rate=output.rate,
        frame_size=ctx.frame_size or None,
    )


def _head(frame: av.AudioFrame, samples: int) -> av.AudioFrame:
    """The first ``samples`` of ``frame`` (the frame itself when it is no longer)."""
    if frame.samples <= samples:
        return frame
    planes: Any = frame.to_ndarray()[:, :samples]  # whatever dtype the encoder asked for
    head = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(planes), format=frame.format.name, layout=frame.layout.name
    )
    head.sample_rate = frame.sample_rate
    return head


def _secs(output: EncodedOutput | BackgroundOutput) -> float:
    return output.samples / output.rate


def _keep_original(
    source: Path, out_dir: Path, fmt: str, codec: str, stream: AudioStream, seconds: float
) -> Derivative:
    """The lossless original as ``high``, named after its container (``high.flac``…)."""
    extension = _ORIGINAL_EXTENSIONS.get(fmt) or source.suffix.lower() or ".bin"
    target = out_dir / f"high{extension}"
    with contextlib.suppress(FileNotFoundError):
        target.unlink()
    try:
        os.link(source, target)
    except OSError:  # another file system, or links not allowed: a copy does the same
        shutil.copyfile(source, target)
        fsync_file(target)
    size_bits = target.stat().st_size * 8
    kbps = round(size_bits / seconds / 1000) if seconds > 0 else 0
    channels = stream.codec_context.layout.nb_channels
    return Derivative("high", target.name, codec, kbps, seconds, stream.rate, channels, True)
