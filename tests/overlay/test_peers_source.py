"""The federation as a resolver source: a dataset track finds audio a station shared."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from qfzz.api import create_api
from qfzz.app import build_overlay, prepare_station
from qfzz.resolver import SourceFailed, Wanted
from qfzz.settings import Settings
from qfzz.testing import write_tone_library


@pytest.fixture
def node(tmp_path):
    library = write_tone_library(tmp_path / "music", tracks=3, seconds=4.0)
    settings = Settings(
        data_dir=tmp_path / "data",
        library=[library],
        demo_library=False,
        download_sources=["peers"],
    )
    station = prepare_station(settings)
    try:
        overlay = build_overlay(station)
        with TestClient(create_api(station, overlay=overlay, manage_lifecycle=False)) as client:
            station.register_listener("boss", {}, password="pw-1234")
            station.accounts.make_admin("boss")
            token = station.accounts.issue_token("boss")
            yield station, overlay, client, {"Authorization": f"Bearer {token}"}
    finally:
        station.close()


def test_a_shared_track_resolves_a_dataset_record_of_it(node):
    station, _overlay, client, admin = node
    assert station.parts.resolving.resolver.configured == ["peers"]
    _total, tracks = station.search_tracks(q="Tone 1", limit=5)
    body = {"track_ids": [tracks[0].track_id], "license": "CC-BY-4.0"}
    assert client.post("/api/v1/network.share", json=body, headers=admin).status_code == 201
    station.import_dataset(
        "elsewhere",
        [
            {"title": "Tone 1", "artist": "Artist 1", "duration": 4.0, "source": "elsewhere"},
            {"title": "Tone 2", "artist": "Artist 2", "duration": 4.0, "source": "elsewhere"},
        ],
        "CC0-1.0",
    )
    report = station.resolve(limit=10)
    assert (report.resolved, report.by_source) == (1, {"peers": 1})  # Tone 2 was not shared
    _total, found = station.search_tracks(q="Tone 1", limit=5)
    resolved = [t for t in found if t.dataset_id is not None]
    assert [t.playable for t in resolved] == [True]
    assert Path(resolved[0].path).read_bytes() == Path(tracks[0].path).read_bytes()


def test_without_a_running_network_the_source_fails_cleanly(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", demo_library=False, download_sources=["peers"])
    station = prepare_station(settings)
    try:
        build_overlay(station)  # never started: no loop to ask
        source = station.parts.resolving.resolver._sources["peers"]
        with pytest.raises(SourceFailed, match="not running"):
            source.search(Wanted(1, "T", "A"))
    finally:
        station.close()
