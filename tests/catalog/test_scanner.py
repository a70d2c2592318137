from __future__ import annotations

import os

import numpy as np
import pytest
from mutagen.easyid3 import EasyID3

from qfzz.audio import encode_audio_file
from qfzz.errors import CatalogError
from qfzz.station import QFZZStation


def tone(seconds: float = 1.5, freq: float = 440.0, rate: int = 22050) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.3 * np.sin(2 * np.pi * freq * t)
    return np.stack([wave, wave]).astype(np.float32)


@pytest.fixture
def library(tmp_path):
    root = tmp_path / "music"
    (root / "Band" / "Album").mkdir(parents=True)
    mp3 = root / "Band" / "Album" / "01 - Opening.mp3"
    encode_audio_file(tone(), 22050, mp3, bitrate_kbps=96)
    tags = EasyID3()
    tags.update({"title": "Opening", "artist": "The Band", "genre": "Rock", "date": "2001"})
    tags.save(mp3)
    encode_audio_file(tone(freq=330), 22050, root / "Band" / "Album" / "02 - Closing.flac")
    encode_audio_file(tone(freq=220), 22050, root / "loose.wav")
    (root / "broken.mp3").write_bytes(b"this is not audio at all" * 10)
    (root / "notes.txt").write_text("ignored")
    return root


def test_scan_is_incremental_and_survives_bad_files(station: QFZZStation, library):
    before = station.health()["tracks"]
    progress: list[tuple[int, int]] = []
    report = station.scan(library, lambda done, total, _path: progress.append((done, total)))
    assert (report.added, report.updated, report.unchanged) == (3, 0, 0)
    assert len(report.errors) == 1 and report.errors[0][0].endswith("broken.mp3")
    assert progress[-1] == (4, 4)
    assert station.health()["tracks"] == before + 3
    _, found = station.search_tracks(q="opening")
    track = found[0]
    assert (track.artist, track.meta.genre, track.meta.year) == ("The Band", "Rock", 2001)
    assert track.playable and track.meta.duration == pytest.approx(1.5, abs=0.1)
    assert track.meta.bitrate and track.content_id and len(track.content_id) == 64

    again = station.scan(library)
    assert (again.added, again.updated, again.unchanged, again.removed) == (0, 0, 3, 0)

    wav = library / "loose.wav"
    encode_audio_file(tone(seconds=2.5), 22050, wav)
    os.utime(wav, (1, 1))
    (library / "Band" / "Album" / "02 - Closing.flac").unlink()
    third = station.scan(library)
    assert (third.added, third.updated, third.unchanged, third.removed) == (0, 1, 1, 1)
    assert station.health()["tracks"] == before + 2
    _, found = station.search_tracks(q="closing")
    assert found == []
    _, found = station.search_tracks(q="loose")
    assert found[0].meta.duration == pytest.approx(2.5, abs=0.1)


def test_scanned_tracks_reach_the_dj(station: QFZZStation, library):
    station.scan(library)
    station.register_listener("ann", {"artists": ["The Band"], "discovery_factor": 0.0})
    first = station.generate_playlist("ann", size=1).items[0]
    assert first.track.artist == "The Band"
    assert any(r.startswith("artist The Band") for r in first.reasons)


def test_scan_of_a_missing_folder_is_a_clear_error(station: QFZZStation, tmp_path):
    with pytest.raises(CatalogError, match="not a folder"):
        station.scan(tmp_path / "nope")
