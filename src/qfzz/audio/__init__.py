"""Audio synthesis and encoding: the only package that imports PyAV.

Everything else in QFZZ sees numpy sample arrays and finished files, so the FFmpeg
dependency stays behind this one door (an import-linter contract enforces it).
"""

from qfzz.audio._decode import CHANNELS, SAMPLE_RATE, Pcm, decode, decode_all
from qfzz.audio._encode import (
    ENCODABLE_EXTENSIONS,
    encode_audio,
    encode_audio_file,
    write_atomically,
)
from qfzz.audio._live import CONTENT_TYPES, Codec, LiveEncoder
from qfzz.audio._loudness import TARGET_DBFS, Loudness, measure
from qfzz.audio._synth import PieceSpec, Timbre, synthesize_piece

__all__ = [
    "CHANNELS",
    "CONTENT_TYPES",
    "ENCODABLE_EXTENSIONS",
    "SAMPLE_RATE",
    "TARGET_DBFS",
    "Codec",
    "LiveEncoder",
    "Loudness",
    "Pcm",
    "PieceSpec",
    "Timbre",
    "decode",
    "decode_all",
    "encode_audio",
    "encode_audio_file",
    "measure",
    "synthesize_piece",
    "write_atomically",
]
