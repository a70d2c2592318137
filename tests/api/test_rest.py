from __future__ import annotations


def _register(client, user="ann", **prefs):
    """Register; a 201 also signs the client in as that listener."""
    body = {"user_id": user, "password": "pw-1234", "preferences": {"genres": ["jazz"], **prefs}}
    response = client.post("/api/v1/listeners", json=body)
    if response.status_code == 201:
        client.headers["Authorization"] = f"Bearer {response.json()['token']}"
    return response


def _error(response, status, code=None):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "detail"} and body["detail"]
    if code:
        assert body["error"] == code


def test_health_is_public(client):
    assert client.get("/api/v1/health").json() == {"status": "ok", "running": True, "tracks": 72}


def test_register_returns_a_token_and_duplicates_conflict(client, station):
    response = _register(client, discovery_factor=0.3)
    assert response.status_code == 201
    assert set(response.json()) == {"user_id", "token"} and len(response.json()["token"]) > 20
    _error(_register(client), 409, "listener_exists")
    _error(
        client.post("/api/v1/listeners", json={"user_id": "bob"}), 422, "invalid_input"
    )  # a password is needed
    _error(_register(client, "eve", discovery_factor=2), 422)
    assert station.parts.store.listeners.user_ids() == ["ann"]
    # only a hash of the password is stored
    with station.parts.store.db.read() as conn:
        from sqlalchemy import text

        stored = conn.execute(text("select password_hash from listeners")).scalar()
    assert stored.startswith("$argon2") and "pw-1234" not in stored


def test_playlist_shape(client):
    _register(client)
    response = client.get("/api/v1/listeners/ann/playlist?size=5")
    assert response.status_code == 200
    body = response.json()
    assert body["user_id"] == "ann" and len(body["tracks"]) == 5
    assert "size_capped_at" not in body  # as many as asked for
    keys = {"track_id", "title", "artist", "album", "genre", "mood", "duration", "score", "reasons"}
    assert all(set(t) == keys and t["reasons"] for t in body["tracks"])
    _error(client.get("/api/v1/listeners/nobody/playlist"), 403, "forbidden")
    _error(client.get("/api/v1/listeners/ann/playlist?size=0"), 422)


def test_a_playlist_larger_than_the_station_allows_says_it_was_capped(client, station):
    _register(client)
    most = station.settings.max_playlist_size
    body = client.get(f"/api/v1/listeners/ann/playlist?size={most + 10}").json()
    assert body["size_capped_at"] == most and len(body["tracks"]) <= most


def test_interactions_and_errors(client, station):
    _register(client)
    track_id = client.get("/api/v1/tracks?genre=rock&limit=1").json()["tracks"][0]["track_id"]
    url = "/api/v1/listeners/ann/interactions"
    ok = client.post(url, json={"track_id": track_id, "type": "rate", "rating": 0.9})
    assert ok.status_code == 201 and ok.json()["type"] == "rate"
    _error(client.post(url, json={"track_id": track_id, "type": "hug"}), 422, "invalid_interaction")
    _error(client.post(url, json={"track_id": track_id, "type": "rate", "rating": 7}), 422)
    _error(client.post(url, json={"type": "like"}), 422, "invalid_request")
    _error(client.post(url, json={"track_id": "12", "type": "like"}), 422)
    _error(client.post(url, json={"track_id": 10**6, "type": "like"}), 404, "unknown_track")
    _error(
        client.post(
            "/api/v1/listeners/zed/interactions", json={"track_id": track_id, "type": "like"}
        ),
        403,
        "forbidden",
    )
    assert station.parts.store.interactions.count() == 1


def test_stopped_station_answers_503(client, station):
    _register(client)
    station.stop()
    _error(client.get("/api/v1/listeners/ann/playlist"), 503, "station_not_running")
    assert client.get("/api/v1/health").json()["running"] is False


def test_track_search_pages(client):
    _register(client)
    first = client.get("/api/v1/tracks?limit=10&offset=0").json()
    second = client.get("/api/v1/tracks?limit=10&offset=10").json()
    assert first["total"] == second["total"] == 72
    assert not {t["track_id"] for t in first["tracks"]} & {t["track_id"] for t in second["tracks"]}
    # every word in title, artist or album; "1" starts a word: Metal Song 1, 10, 11, and
    # Metal Song 5 and 9 by Metal Artist 1
    found = client.get("/api/v1/tracks?q=metal song 1").json()
    assert (found["total"], found["total_capped"]) == (5, False)
    assert client.get("/api/v1/tracks?artist=Jazz Artist 1").json()["total"] == 3
    _error(client.get("/api/v1/tracks?limit=0"), 422)
    _error(client.get("/api/v1/nothing-here"), 404, "not_found")


def test_datasets_accepted_and_rejected(client, station):
    _register(client, "boss")
    station.accounts.make_admin("boss")
    tracks = [
        {
            "title": f"T{i}",
            "artist": f"A{i % 5}",
            "genre": ["folk", "pop"][i % 2],
            "duration": 180,
            "energy": 0.0,
        }
        for i in range(20)
    ]
    ok = client.post(
        "/api/v1/datasets", json={"name": "d", "license": "CC BY 4.0", "tracks": tracks}
    )
    assert ok.status_code == 201, ok.text
    body = ok.json()
    assert body["license"] == "CC-BY-4.0" and body["track_count"] == 20
    assert set(body["components"]) == {"metadata", "consistency", "size", "diversity", "license"}
    assert 0 < body["quality_score"] <= 1
    before = client.get("/api/v1/health").json()["tracks"]
    _error(
        client.post(
            "/api/v1/datasets", json={"name": "d", "license": "proprietary", "tracks": tracks}
        ),
        422,
        "license_rejected",
    )
    _error(
        client.post(
            "/api/v1/datasets",
            json={"name": "d", "license": "CC0", "tracks": tracks, "min_quality": 0.99},
        ),
        422,
        "quality_too_low",
    )
    assert client.get("/api/v1/health").json()["tracks"] == before
