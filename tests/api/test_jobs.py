from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from qfzz.api import create_api
from qfzz.testing import write_tone


@pytest.fixture
def admin(station):
    registration = station.register_listener("boss", {}, password="pw-1234")
    station.accounts.make_admin("boss")
    with TestClient(create_api(station, manage_lifecycle=False)) as client:
        client.headers["Authorization"] = f"Bearer {registration.token}"
        yield client


def test_a_scan_job_runs_reports_progress_and_finishes(admin, station, tmp_path):
    for n in range(3):
        write_tone(
            tmp_path / f"{n}.mp3", 300 + 50 * n, 1.0, 0.3, {"title": f"T{n}", "artist": "Jobs"}
        )
    queued = admin.post("/api/v1/scan", json={"path": str(tmp_path)})
    assert queued.status_code == 202
    job_id = queued.json()["job_id"]
    assert admin.get(f"/api/v1/jobs/{job_id}").json()["message"] == "queued"
    assert station.jobs.run_pending() == 1
    done = admin.get(f"/api/v1/jobs/{job_id}").json()
    assert done["finished"] and done["done"] == 3 and "3 added" in done["message"]
    assert station.search_tracks(artist="Jobs")[0] == 3
    assert (
        station.jobs.queue.counts()["pending"] == 0
        if "pending" in station.jobs.queue.counts()
        else True
    )


def test_failing_jobs_are_retried_then_dead_lettered(admin, station, tmp_path):
    job_id = admin.post("/api/v1/scan", json={"path": str(tmp_path / "missing")}).json()["job_id"]
    for _ in range(5):
        station.jobs.run_pending()
        station.clock.advance(3601)  # the failed job becomes visible again after its lease
    assert [dead.job_id for dead in station.jobs.queue.dead()] == [job_id]
    progress = admin.get(f"/api/v1/jobs/{job_id}").json()
    assert progress["message"].startswith("failed: not a folder")


def test_background_dataset_import_and_job_errors(admin, station):
    tracks = [
        {"title": f"T{i}", "artist": f"A{i % 4}", "genre": "folk", "duration": 100}
        for i in range(12)
    ]
    queued = admin.post(
        "/api/v1/datasets/jobs", json={"name": "bg", "license": "CC0", "tracks": tracks}
    )
    assert queued.status_code == 202 and queued.json()["total"] == 12
    station.jobs.run_pending()
    done = admin.get(f"/api/v1/jobs/{queued.json()['job_id']}").json()
    assert done["finished"] and done["message"].startswith("dataset ")
    assert admin.get("/api/v1/jobs/nope").json()["error"] == "unknown_job"
    listener = station.register_listener("ann", {}, password="pw-1234")
    forbidden = admin.post(
        "/api/v1/scan", json={"path": "/"}, headers={"Authorization": f"Bearer {listener.token}"}
    )
    assert forbidden.status_code == 403
