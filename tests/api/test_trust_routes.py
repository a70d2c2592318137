from __future__ import annotations


def test_trust_record_ledger_pages_and_verification(client, station):
    tokens = {}
    for user in ("ann", "bob"):
        created = client.post(
            "/api/v1/listeners", json={"user_id": user, "password": "pw-1234", "preferences": {}}
        )
        tokens[user] = {"Authorization": f"Bearer {created.json()['token']}"}
    client.headers.update(tokens["ann"])
    track = client.get("/api/v1/tracks?genre=jazz&limit=1").json()["tracks"][0]
    url = f"/api/v1/trust/{track['content_id']}/{track['creator_id']}"
    assert client.get(url).json() == {
        "content_id": track["content_id"],
        "creator_id": track["creator_id"],
        "verifications": 0,
        "reports": 0,
        "score": 0.5,
        "first_update": None,
        "last_update": None,
    }
    client.post(
        "/api/v1/listeners/ann/interactions", json={"track_id": track["track_id"], "type": "like"}
    )
    client.post(
        "/api/v1/listeners/bob/interactions",
        json={"track_id": track["track_id"], "type": "skip"},
        headers=tokens["bob"],
    )
    record = client.get(url).json()
    assert (record["verifications"], record["reports"], record["score"]) == (1, 1, 0.5)
    assert record["first_update"] is not None
    page = client.get("/api/v1/ledger").json()
    assert page["height"] == 1 and page["pending"] == 2
    assert page["blocks"][0]["hash"] == page["blocks"][0]["hash"].lower()
    station.parts.ledger.mine()
    page = client.get("/api/v1/ledger?from=1&limit=5").json()
    assert page["height"] == 2 and page["pending"] == 0 and len(page["blocks"]) == 1
    block = page["blocks"][0]
    assert block["index"] == 1 and block["hash"].startswith("000")
    assert [c[1:3] for c in block["changes"]] == [[1, 0], [1, 1]]
    assert client.get("/api/v1/ledger/verify").json() == {
        "valid": True,
        "height": 2,
        "first_bad_block": None,
        "reason": None,
    }
    assert client.get("/api/v1/ledger?limit=0").status_code == 422
