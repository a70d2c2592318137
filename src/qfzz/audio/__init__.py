"""Audio synthesis, decoding, encoding, transcoding and upload derivatives: the only
package that imports PyAV.

Everything else in QFZZ sees numpy sample arrays and finished files, so the FFmpeg
dependency stays behind this one door (an import-linter contract enforces it). Library
files are opened with :func:`open_regular` (regular files only, never a blocking open),
here and in ``qfzz.catalog``.
"""

from qfzz.audio._decode import CHANNELS, SAMPLE_RATE, Pcm, decode, decode_all
from qfzz.audio._derive import (
    HIGH_KBPS,
    LOW_KBPS,
    PREVIEW_KBPS,
    PREVIEW_SECONDS,
    Derivative,
    Derived,
    NotAudio,
    derive,
)
from qfzz.audio._encode import (
    ENCODABLE_EXTENSIONS,
    encode_audio,
    encode_audio_file,
    write_atomically,
)
from qfzz.audio._features import MAX_SECONDS, Features, analyse
from qfzz.audio._files import NotRegularFile, file_kind, open_regular
from qfzz.audio._length import packet_seconds
from qfzz.audio._live import CONTENT_TYPES, Codec, LiveEncoder
from qfzz.audio._loudness import MAX_GAIN_DB, PEAK_CEILING, TARGET_LUFS, Loudness, measure
from qfzz.audio._synth import PieceSpec, Timbre, synthesize_piece
from qfzz.audio._transcode import MAX_TRANSCODES, transcode_stream

__all__ = [
    "CHANNELS",
    "CONTENT_TYPES",
    "ENCODABLE_EXTENSIONS",
    "HIGH_KBPS",
    "LOW_KBPS",
    "MAX_GAIN_DB",
    "MAX_SECONDS",
    "MAX_TRANSCODES",
    "PEAK_CEILING",
    "PREVIEW_KBPS",
    "PREVIEW_SECONDS",
    "SAMPLE_RATE",
    "TARGET_LUFS",
    "Codec",
    "Derivative",
    "Derived",
    "Features",
    "LiveEncoder",
    "Loudness",
    "NotAudio",
    "NotRegularFile",
    "Pcm",
    "PieceSpec",
    "Timbre",
    "analyse",
    "decode",
    "decode_all",
    "derive",
    "encode_audio",
    "encode_audio_file",
    "file_kind",
    "measure",
    "open_regular",
    "packet_seconds",
    "synthesize_piece",
    "transcode_stream",
    "write_atomically",
]
