"""How long a file's audio really is, counted from its packets.

A tag reader takes an MP3's length from its header: the frame count of a Xing/Info
header, or, with none, the file size over the first frame's bitrate. A file cut short
keeps a header that promises the whole (a 1.25 s file was catalogued as 12 s), and a VBR
file without a Xing header is mis-timed by its first frame. Demuxing counts the packets
the file holds — no decoding, so it costs a read of the file and little CPU — and is what
the catalog asks when the header cannot be trusted.
"""

from __future__ import annotations

from typing import BinaryIO

import av

from qfzz.errors import UnreadableFile


def packet_seconds(handle: BinaryIO) -> float:
    """The duration of the first audio stream's packets in ``handle`` (read from where it
    is; left wherever demuxing stopped)."""
    try:
        with av.open(handle, mode="r") as container:
            if not container.streams.audio:
                raise UnreadableFile("no audio stream")
            stream = container.streams.audio[0]
            ticks = 0
            for packet in container.demux(stream):
                if packet.duration is not None:
                    ticks += packet.duration
            base = stream.time_base
    except av.FFmpegError as exc:
        raise UnreadableFile(f"cannot read its audio packets: {exc}") from exc
    if base is None:
        raise UnreadableFile("its audio stream has no time base")
    return float(ticks * base)
