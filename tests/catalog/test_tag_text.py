"""Tag text never carries control characters into the catalog (PostgreSQL refuses NUL)."""

from __future__ import annotations

import mutagen
import pytest

from qfzz.app import build_station
from qfzz.catalog.tags import read_track_file
from qfzz.settings import Settings
from qfzz.store import open_store
from qfzz.testing import write_tone


def _hostile_flac(path):
    write_tone(path, 440, 0.3, 0.2)
    audio = mutagen.File(path)
    audio["TITLE"] = "Bad\x00Title\x07"
    audio["ARTIST"] = "\x01Artist\x9f"
    audio.save()


def test_control_characters_in_tags_become_spaces(tmp_path):
    _hostile_flac(tmp_path / "t.flac")
    meta = read_track_file(tmp_path / "t.flac")
    assert (meta.title, meta.artist) == ("Bad Title", "Artist")


@pytest.mark.postgres
def test_a_file_with_nul_in_its_tags_is_scanned_into_postgresql(tmp_path, postgres_url, clock):
    (tmp_path / "music").mkdir()
    _hostile_flac(tmp_path / "music" / "t.flac")
    station = build_station(
        Settings(data_dir=tmp_path / "d", demo_library=False),
        store=open_store(postgres_url),
        clock=clock,
    )
    station.start()
    try:
        report = station.scan(tmp_path / "music")
        assert (report.added, report.errors) == (1, [])
        assert station.search_tracks(q="bad title")[1][0].artist == "Artist"
    finally:
        station.close()
