"""Broadcast: real audio on air. Programs of decoded, level-matched, crossfaded tracks,
encoded once per (codec, bitrate) into ``qfzz.streams`` buffers that listeners read."""

from qfzz.broadcast._chunks import Chunk, Mark
from qfzz.broadcast._clock import Alarm, Clock, RealClock, as_clock
from qfzz.broadcast._icy import METAINT, IcyWriter, metadata_block
from qfzz.broadcast._mount import Mount, NowPlaying, Packet, Tuning
from qfzz.broadcast._program import PcmBlock, Program, QueuedTrack, TrackProvider

__all__ = [
    "METAINT",
    "Alarm",
    "Chunk",
    "Clock",
    "IcyWriter",
    "Mark",
    "Mount",
    "NowPlaying",
    "Packet",
    "PcmBlock",
    "Program",
    "QueuedTrack",
    "RealClock",
    "TrackProvider",
    "Tuning",
    "as_clock",
    "metadata_block",
]
