"""POST /api/v1/resolve: admins queue a resolver run; bad input is a JSON 4xx, queues nothing."""

from __future__ import annotations


def _headers(station, user: str, *, admin: bool) -> dict[str, str]:
    station.register_listener(user, {}, password="pw-1234")
    if admin:
        station.accounts.make_admin(user)
    return {"Authorization": f"Bearer {station.accounts.issue_token(user)}"}


def test_an_admin_queues_a_run_and_follows_it(client, station):
    admin = _headers(station, "boss", admin=True)
    station.import_dataset(
        "meta only",
        [{"title": "Lost Song", "artist": "Nobody", "duration": 100, "source": "qq"}],
        "CC0-1.0",
    )
    queued = client.post("/api/v1/resolve", headers=admin, json={"limit": 5, "origin": "qq"})
    assert queued.status_code == 202, queued.text
    job_id = queued.json()["job_id"]
    assert station.jobs.run_pending() == 1
    job = client.get(f"/api/v1/jobs/{job_id}", headers=admin).json()
    assert job["finished"] and job["message"] == "0 of 1 resolved"
    assert (job["done"], job["total"]) == (1, 1)


def test_listeners_and_bad_input_are_refused(client, station):
    listener = _headers(station, "ann", admin=False)
    admin = _headers(station, "boss", admin=True)
    assert client.post("/api/v1/resolve", headers=listener, json={}).status_code == 403
    assert client.post("/api/v1/resolve", json={}).status_code == 401
    for body in (
        {"limit": 0},
        {"limit": 10**9},
        {"origin": "Not An Origin!"},
        {"origin": "x" * 65},
        {"unknown": 1},
        {"limit": "many"},
    ):
        answer = client.post("/api/v1/resolve", headers=admin, json=body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["error"]
    assert station.jobs.run_pending() == 0  # nothing was queued
