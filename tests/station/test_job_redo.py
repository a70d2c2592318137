"""A job handed out again — its worker died after storing the job's effect, before the
ack — has that effect once: the import is keyed by the job (FakeClock, no sleeping)."""

from __future__ import annotations

DATASET = [{"title": f"Reel {i}", "artist": "Fiddler", "genre": "folk"} for i in range(4)]


def test_a_redone_import_job_imports_once(station, clock, monkeypatch):
    jobs = station.jobs
    job_id = jobs.import_dataset("folk", DATASET, "CC0")
    lost: list[str] = []
    with monkeypatch.context() as patch:  # the worker dies between the commit and the ack
        patch.setattr(jobs.queue, "ack", lambda job: lost.append(job.job_id))
        assert jobs.run_pending() == 1
    assert lost == [job_id]
    stored = station.parts.store.datasets.count()
    tracks = station.index.active_count
    assert stored == 1
    clock.advance(3601)  # past the hand-out: the job is visible again, to another worker
    assert jobs.run_pending() == 1  # done again ...
    assert station.parts.store.datasets.count() == stored  # ... with nothing imported twice
    assert station.index.active_count == tracks
    assert jobs.run_pending() == 0  # and acknowledged this time
    progress = jobs.progress(job_id)
    assert progress is not None and progress.finished


def test_a_long_scan_keeps_its_job_by_extending_its_hand_out(station, clock, tmp_path):
    jobs = station.jobs
    handout = station.settings.job_handout_seconds
    catalog = station.parts.catalog
    real_scan = catalog.scan
    taken_by_others: list[object] = []

    def long_scan(root, on_progress=None):
        for n in range(10):  # five hand-outs long in all
            clock.advance(handout / 2)
            on_progress(n, 10, "")
            taken_by_others.append(jobs.queue.take())  # another worker, looking for work
        return real_scan(root, None)

    catalog.scan = long_scan  # type: ignore[method-assign]
    try:
        empty = tmp_path / "empty"
        empty.mkdir()
        job_id = jobs.scan(str(empty))
        assert jobs.run_pending() == 1
    finally:
        catalog.scan = real_scan  # type: ignore[method-assign]
    assert taken_by_others == [None] * 10  # the working worker kept it all along
    clock.advance(2 * handout)
    assert jobs.queue.take() is None  # and it was acknowledged with its last hand-out
    progress = jobs.progress(job_id)
    assert progress is not None and progress.finished
