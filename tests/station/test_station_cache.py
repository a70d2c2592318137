"""The station reads through the cache and invalidates exactly what changed."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from qfzz.api import create_api
from qfzz.app import build_station, command_line
from qfzz.errors import AuthError
from qfzz.settings import Settings
from qfzz.testing import SIX_GENRES, add_synthetic_tracks


@pytest.fixture
def station(cached_station):
    return cached_station


def _hits(station, namespace):
    return station.parts.cache.stats()["namespaces"].get(namespace, {}).get("hits", 0)


def test_playlists_are_served_from_cache_until_feedback(station):
    station.register_listener("ann", {"genres": ["jazz"]})
    station.register_listener("bob", {"genres": ["rock"]})
    first = station.playlist("ann")
    assert station.playlist("ann") == first and _hits(station, "playlist") >= 1
    bob_before = station.playlist("bob")
    station.record_interaction("ann", first.items[0].track.track_id, "dislike")
    second = station.playlist("ann")
    assert [i.track.track_id for i in second.items] != [i.track.track_id for i in first.items]
    assert station.playlist("bob") == bob_before  # only ann's playlist was invalidated
    assert len(station.playlist("ann", 5).items) == 5


def test_track_metadata_and_search_are_cached_and_rescans_invalidate(station, tmp_path):
    track = station.track(1)
    assert station.track(1) == track and _hits(station, "track") >= 1
    total, found = station.search_tracks(genre="jazz", limit=5)
    assert station.search_tracks(genre="jazz", limit=5) == (total, found)
    assert _hits(station, "search") >= 1
    station.mark_unplayable(1, "test")
    assert station.track(1).playable is False  # the cached copy was invalidated


def test_sessions_are_cached_by_digest_and_revoked_on_logout(station):
    registration = station.register_listener("ann", {}, password="pw-1234")
    assert station.accounts.authenticate(registration.token).user_id == "ann"
    assert station.accounts.authenticate(registration.token).user_id == "ann"
    assert _hits(station, "session") >= 1
    station.accounts.logout(registration.token)
    with pytest.raises(AuthError):
        station.accounts.authenticate(registration.token)


def test_cache_stats_route_and_cli(tmp_path):
    data = tmp_path / "data"
    st = build_station(Settings(data_dir=data, demo_library=False))
    add_synthetic_tracks(st.parts.store, SIX_GENRES)
    st.start()
    reg = st.register_listener("ann", {}, password="pw-1234")
    st.accounts.make_admin("ann")
    with TestClient(create_api(st, manage_lifecycle=False)) as client:
        auth = {"Authorization": f"Bearer {reg.token}"}
        client.get("/api/v1/tracks/1", headers=auth)
        client.get("/api/v1/tracks/1", headers=auth)
        stats = client.get("/api/v1/cache/stats", headers=auth).json()
        assert stats["backend"] == "embedded" and stats["namespaces"]["track"]["hits"] >= 1
        cleared = client.delete("/api/v1/cache/track", headers=auth).json()
        assert cleared["namespace"] == "track" and cleared["deleted"] >= 1
        assert "qfzz_cache" in client.get("/metrics").text
    st.close()
    cli = command_line()
    shown = CliRunner().invoke(cli, ["cache", "stats", "--data-dir", str(data)])
    assert shown.exit_code == 0 and "backend embedded" in shown.output
    cleared = CliRunner().invoke(cli, ["cache", "clear", "track", "--data-dir", str(data)])
    assert cleared.exit_code == 0 and "cleared" in cleared.output
