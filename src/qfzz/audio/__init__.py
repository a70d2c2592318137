"""Audio synthesis and encoding: the only package that imports PyAV.

Everything else in QFZZ sees numpy sample arrays and finished files, so the FFmpeg
dependency stays behind this one door (an import-linter contract enforces it).
"""

from qfzz.audio._encode import (
    ENCODABLE_EXTENSIONS,
    encode_audio,
    encode_audio_file,
    write_atomically,
)
from qfzz.audio._synth import PieceSpec, Timbre, synthesize_piece

__all__ = [
    "ENCODABLE_EXTENSIONS",
    "PieceSpec",
    "Timbre",
    "encode_audio",
    "encode_audio_file",
    "synthesize_piece",
    "write_atomically",
]
