from __future__ import annotations

import json
import logging

from qfzz.app._logging import JsonFormatter


def test_station_statistics_and_prometheus_metrics(client, station):
    created = client.post("/api/v1/listeners", json={"user_id": "ann", "password": "pw-1234"})
    client.headers["Authorization"] = f"Bearer {created.json()['token']}"
    client.get("/api/v1/listeners/ann/playlist?size=5")
    track = client.get("/api/v1/tracks?limit=1").json()["tracks"][0]["track_id"]
    client.post("/api/v1/listeners/ann/interactions", json={"track_id": track, "type": "like"})
    stats = client.get("/api/v1/station").json()
    assert stats["status"] == "running" and stats["tracks"] == 72 and stats["listeners"] == 1
    assert stats["datasets"] == 0 and stats["interactions"] == 1 and stats["uptime"] >= 0
    assert stats["ledger"] == {"enabled": True, "height": 1, "valid": True, "pending": 1}
    text = client.get("/metrics").text
    assert (
        'qfzz_http_request_duration_seconds_count{method="GET",route='
        '"/api/v1/listeners/{user_id}/playlist",status="200"} 1.0' in text
    )
    assert "qfzz_playlist_generation_seconds_count 1.0" in text
    assert 'qfzz_interactions_total{type="like"} 1.0' in text
    assert "qfzz_ledger_height 1.0" in text and "qfzz_trust_pending_changes 1.0" in text
    assert "qfzz_tracks 72.0" in text


def test_every_response_carries_a_request_id_that_logs_share(client):
    echoed = client.get("/api/v1/health", headers={"X-Request-ID": "abc123"})
    assert echoed.headers["x-request-id"] == "abc123"
    assert len(client.get("/api/v1/health").headers["x-request-id"]) == 32
    record = logging.LogRecord("qfzz.http", logging.INFO, "", 0, "GET / 200", (), None)
    record.route = "/"
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "GET / 200" and line["route"] == "/" and "request_id" in line


def test_catalog_and_device_changes_are_counted_from_the_stations_events(client, station):
    track = station.search_tracks(limit=1)[1][0].track_id
    station.mark_unplayable(track, "a decoder error")
    station.register_device({"device_id": "desk", "device_type": "desktop"})
    text = client.get("/metrics").text
    assert 'qfzz_catalog_changes_total{change="changed"} 1.0' in text
    assert 'qfzz_catalog_changes_total{change="removed"} 0.0' in text
    assert "qfzz_device_changes_total 1.0" in text
