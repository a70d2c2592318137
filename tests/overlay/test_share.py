"""Publishing tracks: the admin route seals and records them (a listener may not), the
metrics show what a node leads and what was played, and ``qfzz node share`` refuses what
it cannot share with a message and exit 1."""

from __future__ import annotations

import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from qfzz.api import create_api
from qfzz.app import build_overlay, prepare_station
from qfzz.settings import Settings
from qfzz.testing import write_tone_library


@pytest.fixture
def served(tmp_path):
    library = write_tone_library(tmp_path / "music", tracks=3, seconds=1.0)
    settings = Settings(data_dir=tmp_path / "data", library=[library], demo_library=False)
    station = prepare_station(settings)
    try:
        overlay = build_overlay(station)
        client = TestClient(create_api(station, overlay=overlay, manage_lifecycle=False))
        station.register_listener("boss", {}, password="pw-1234")
        station.accounts.make_admin("boss")
        station.register_listener("ann", {}, password="pw-1234")
        tokens = {u: station.accounts.issue_token(u) for u in ("boss", "ann")}
        yield station, overlay, client, tokens
    finally:
        station.close()


def _auth(token):
    return {"Authorization": f"Bearer {token}"}


def test_admins_share_tracks_and_plays_of_them_are_counted(served):
    station, overlay, client, tokens = served
    _total, tracks = station.search_tracks(limit=10)
    ids = [t.track_id for t in tracks]
    body = {"track_ids": ids[:2], "license": "CC-BY-4.0"}
    refused = client.post("/api/v1/network.share", json=body, headers=_auth(tokens["ann"]))
    assert refused.status_code == 403
    assert overlay.replicas.describe() == []
    shared = client.post("/api/v1/network.share", json=body, headers=_auth(tokens["boss"]))
    assert shared.status_code == 201
    content_ids = [s["content_id"] for s in shared.json()["shared"]]
    listed = {c["content_id"]: c for c in client.get("/api/v1/network.content").json()["content"]}
    assert set(listed) == set(content_ids)
    assert all(c["redistributable"] and c["stored_here"] for c in listed.values())
    # a play on any route is an interaction; one of a shared track is a view
    station.record_interaction("ann", ids[0], "play")
    station.record_interaction("ann", ids[2], "play")  # not shared: no view
    assert overlay.replicas.totals().views == 1
    metrics = client.get("/metrics").text
    assert "dht_view_count_total 1.0" in metrics
    assert "dht_replication_under 0.0" in metrics


def test_the_share_route_refuses_bad_input(served):
    _station, _overlay, client, tokens = served
    admin = _auth(tokens["boss"])
    for body in (
        {"track_ids": [], "license": "CC0-1.0"},
        {"track_ids": [1], "license": "not a licence!"},
        {"track_ids": [1] * 1001, "license": "CC0-1.0"},
    ):
        assert client.post("/api/v1/network.share", json=body, headers=admin).status_code == 422
    missing = client.post(
        "/api/v1/network.share", json={"track_ids": [999_999], "license": "CC0-1.0"}, headers=admin
    )
    assert missing.status_code == 404


def test_the_cli_refuses_what_it_cannot_share(tmp_path):
    def qfzz(*args):
        return subprocess.run(
            [sys.executable, "-m", "qfzz", "node", "share", *args, "--data-dir", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=120,
        )

    no_licence = qfzz("1")
    assert no_licence.returncode == 1 and "--license" in no_licence.stderr
    nothing = qfzz("--license", "CC0-1.0")
    assert nothing.returncode == 1 and "--all" in nothing.stderr
    unknown = qfzz("424242", "--license", "CC0-1.0")
    assert unknown.returncode == 1 and "error" in unknown.stderr
