"""transcode_stream: a file from an offset, re-encoded as it is read, header first."""

from __future__ import annotations

import io

import av
import pytest

from qfzz.audio import transcode_stream
from qfzz.errors import UnreadableFile
from qfzz.testing import write_tone


@pytest.fixture
def tone(tmp_path):
    path = tmp_path / "tone.flac"
    write_tone(path, 440.0, 3.0, 0.5)
    return path


def seconds_of(data: bytes) -> float:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        return sum(frame.samples for frame in container.decode(stream)) / stream.rate


@pytest.mark.parametrize("codec", ["mp3", "opus"])
def test_a_file_is_transcoded_from_the_offset(tone, codec):
    pieces = list(transcode_stream(tone, codec, 96, start_seconds=1.0))
    data = b"".join(pieces)
    if codec == "opus":
        assert pieces[0].startswith(b"OggS") and b"OpusHead" in pieces[0]  # header first
    assert seconds_of(data) == pytest.approx(2.0, abs=0.1)


def test_a_bad_bitrate_fails_at_the_call_not_at_the_first_read(tone):
    with pytest.raises(ValueError):
        transcode_stream(tone, "mp3", 4)


def test_nothing_is_decoded_before_the_first_read(tmp_path):
    missing = tmp_path / "gone.flac"
    audio = transcode_stream(missing, "mp3", 128)  # the file is opened on the first next
    with pytest.raises(UnreadableFile):
        next(audio)
