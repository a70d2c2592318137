"""Broadcast: real audio on air. Programs of decoded, level-matched, crossfaded tracks,
encoded once per (codec, bitrate) into ``qfzz.streams`` buffers that listeners read, each
listener a :class:`ListenerSession` (burst, evictions, ICY, bitrate switches its device
pushes)."""

from qfzz.broadcast._chunks import Chunk, Mark, Packet
from qfzz.broadcast._clock import Alarm, Clock, RealClock, as_clock
from qfzz.broadcast._icy import METAINT, IcyWriter, metadata_block
from qfzz.broadcast._mount import Mount, MountRetired, NowPlaying, Tuning
from qfzz.broadcast._program import PcmBlock, Program, QueuedTrack, TrackProvider
from qfzz.broadcast._reaper import Reaper
from qfzz.broadcast._relayed import PacketFeed, RelayedSource, entry_packet, packet_entry
from qfzz.broadcast._session import (
    MAX_EVICTIONS,
    BitrateFeed,
    ListenerSession,
    StreamParams,
)

__all__ = [
    "MAX_EVICTIONS",
    "METAINT",
    "Alarm",
    "BitrateFeed",
    "Chunk",
    "Clock",
    "IcyWriter",
    "ListenerSession",
    "Mark",
    "Mount",
    "MountRetired",
    "NowPlaying",
    "Packet",
    "PacketFeed",
    "PcmBlock",
    "Program",
    "QueuedTrack",
    "RealClock",
    "Reaper",
    "RelayedSource",
    "StreamParams",
    "TrackProvider",
    "Tuning",
    "as_clock",
    "entry_packet",
    "metadata_block",
    "packet_entry",
]
