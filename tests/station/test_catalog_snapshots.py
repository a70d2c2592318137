"""The catalog index is one immutable snapshot swapped as one reference: readers that race
a rescan never fail and never see columns of two different moments."""

from __future__ import annotations

import threading

import numpy as np

from qfzz.testing import SIX_GENRES, SyntheticTrack, add_synthetic_tracks

ROUNDS = 150


def _consistent(index) -> bool:
    n = len(index)
    columns = (
        index.track_ids,
        index.genre,
        index.artist,
        index.mood,
        index.energy,
        index.tempo,
        index.playable,
        index.active,
        index.plays,
        index.base_all,
        index.base_playable,
        index.energy_scaled,
        index.tempo_penalty(110.0),
    )
    if any(column.shape[0] != n for column in columns):
        return False
    live = np.flatnonzero(index.active)
    # every live row is where the id map says it is
    return bool((index.rows_of(index.track_ids[live].tolist()) == live).all())


def test_rescans_racing_the_shared_mount_and_subsonic_ranking_never_tear_a_read(station):
    station.register_listener("ann", {"genres": ["jazz"]})
    station.register_listener("bob", {"genres": ["metal"]})
    artist_id = station.library.artists()[0].group_id
    provider = station.radio.mount("main").program.provider
    catalog = station.parts.catalog
    store = station.parts.store
    extra = [SyntheticTrack(f"New {n}", f"Newcomer {n % 7}", "folk") for n in range(30)]
    stop = threading.Event()
    failures: list[BaseException] = []
    reads = {"refill": 0, "rank": 0, "snapshot": 0}

    def rescan() -> None:
        ids = [t.track_id for t in station.search_tracks(limit=500)[1]]
        try:
            for n in range(ROUNDS):
                # a rescan that changes every track, adds some and removes some
                added = add_synthetic_tracks(store, extra[n % 3 :: 3], prefix=f"/r{n}")
                catalog.reindex(ids + added, added[: n % 5])
        except BaseException as exc:
            failures.append(exc)
        finally:
            stop.set()

    def refill() -> None:
        while not stop.is_set():
            try:
                assert provider.next_track() is not None
                reads["refill"] += 1
            except BaseException as exc:
                failures.append(exc)
                return

    def rank() -> None:
        while not stop.is_set():
            try:
                station.library.similar_songs("ann", artist_id, 20)
                station.generate_playlist("bob", 10)
                reads["rank"] += 1
            except BaseException as exc:
                failures.append(exc)
                return

    def inspect() -> None:
        while not stop.is_set():
            if not _consistent(station.index):
                failures.append(AssertionError("a snapshot with mismatched columns"))
                return
            reads["snapshot"] += 1

    threads = [threading.Thread(target=f) for f in (rescan, refill, rank, inspect)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not failures, failures[0]
    assert all(count > 0 for count in reads.values()), reads
    assert _consistent(station.index)
    assert station.index.active_count >= len(SIX_GENRES)
