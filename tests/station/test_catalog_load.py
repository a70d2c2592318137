"""Start-up indexing: the catalog read as columns (store pages, coded text) gives the index
the row-by-row load gave, and an empty trust ledger keeps nothing per track."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qfzz.app import build_station
from qfzz.models import ScannedFile, TrackMeta
from qfzz.settings import Settings
from qfzz.store import open_store

#: (artist, genre, mood, energy, tempo): spellings that normalise together, unknowns
#: (None and empty), and one artist first seen in one spelling, later in another.
CATALOG = [
    ("The  Band", "Hip Hop", "Happy ", 0.25, 120.0),
    ("the band", "hip_hop", "happy", None, None),
    ("Solo", None, None, 0.0, 0.0),
    ("Zed", "", "", 1.0, 90.5),
    ("THE BAND", "hip-hop", "SAD", 0.123456789, 133.333333),
    ("Solo", "Rock", "sad", None, 60.0),
    ("Ünïcode Ärtist", "Rock", None, 0.5, None),
    ("Gone", "Jazz", "calm", 0.9, 100.0),  # removed below
    ("Quiet", "Jazz", "calm", 0.1, 70.0),  # taken off air below
]


def fill(url: str) -> list[int]:
    store = open_store(url)
    try:
        files = [
            ScannedFile(
                path=f"/music/{i}.mp3",
                size=1000,
                mtime=0.0,
                meta=TrackMeta(
                    title=f"t{i}", artist=a, genre=g, mood=m, energy=e, tempo=t, duration=30.0
                ),
                content_id=f"{i:064x}",
            )
            for i, (a, g, m, e, t) in enumerate(CATALOG)
        ]
        ids = store.tracks.upsert_files(files, now=0.0)
        store.tracks.mark_removed(["/music/7.mp3"])
        store.tracks.set_playable(ids[8], False)
        return ids
    finally:
        store.close()


def row_by_row(ids: list[int], plays: dict[int, int]) -> dict[str, object]:
    """What the index held when start-up built it a track at a time (the semantics kept):
    codes numbered in the order first seen by track id, 0 for unknown, the first spelling
    of a normalised key its display; unknown energy 0.5, unknown tempo NaN."""
    vocabularies: list[dict[str, int]] = [{"": 0}, {"": 0}, {"": 0}]
    displays: list[list[str]] = [[""], [""], [""]]

    def code(which: int, key: str, display: str) -> int:
        if key not in vocabularies[which]:
            vocabularies[which][key] = len(displays[which])
            displays[which].append(display)
        return vocabularies[which][key]

    live = [(i, row) for i, row in zip(ids, CATALOG, strict=True) if i != ids[7]]
    return {
        "track_ids": [i for i, _ in live],
        "genre": [
            code(0, "-".join((g or "").casefold().replace("_", " ").split()), g or "")
            for _, (_, g, _, _, _) in live
        ],
        "artist": [code(1, " ".join(a.casefold().split()), a) for _, (a, *_) in live],
        "mood": [
            code(2, (m or "").strip().casefold(), (m or "").strip().casefold())
            for _, (_, _, m, _, _) in live
        ],
        "energy": [np.float32(0.5 if e is None else e) for _, (*_, e, _) in live],
        "tempo": [np.float32(math.nan if t is None else t) for _, (*_, t) in live],
        "playable": [i != ids[8] for i, _ in live],
        "plays": [plays.get(i, 0) for i, _ in live],
        "displays": displays,
    }


@pytest.mark.parametrize("page", [2, 3, 1000])
def test_feature_columns_are_the_same_whatever_the_page_size(store_url, page) -> None:
    ids = fill(store_url)
    store = open_store(store_url)
    try:
        whole, paged = store.tracks.feature_columns(), store.tracks.feature_columns(page=page)
    finally:
        store.close()
    live = [i for i in ids if i != ids[7]]
    rows = [row for i, row in zip(ids, CATALOG, strict=True) if i != ids[7]]
    for columns in (whole, paged):
        assert columns.track_id.tolist() == live
        assert columns.artist.decoded() == [row[0] for row in rows]
        assert columns.genre.decoded() == [row[1] for row in rows]  # None and "" kept apart
        assert columns.mood.decoded() == [row[2] for row in rows]
        assert np.isnan(columns.energy[1]) and np.isnan(columns.tempo[1])
        assert columns.playable.tolist() == [i != ids[8] for i in live]
        assert len(columns.genre.values) == len(set(columns.genre.values))  # distinct


def test_the_index_loaded_from_columns_is_the_row_by_row_index(store_url, tmp_path) -> None:
    ids = fill(store_url)
    settings = Settings(data_dir=tmp_path / "data", demo_library=False, database_url=store_url)
    first = build_station(settings)
    first.start()
    first.register_listener("ann", {})
    first.register_listener("bob", {})
    first.record_interactions(
        [
            ("ann", ids[0], "play", None),
            ("bob", ids[0], "play", None),
            ("ann", ids[4], "play", None),
        ]
    )
    first.close()

    station = build_station(settings)
    station.start()  # loads the index from the store's columns
    try:
        index = station.index
        expected = row_by_row(ids, {ids[0]: 2, ids[4]: 1})
        assert index.track_ids.tolist() == expected["track_ids"]
        assert index.genre.tolist() == expected["genre"]
        assert index.artist.tolist() == expected["artist"]
        assert index.mood.tolist() == expected["mood"]
        assert index.energy.tolist() == expected["energy"]
        np.testing.assert_array_equal(index.tempo, np.array(expected["tempo"], np.float32))
        assert index.playable.tolist() == expected["playable"]
        assert index.plays.tolist() == expected["plays"]
        genres, artists, moods = expected["displays"]
        assert (index.genres.display, index.artists.display, index.moods.display) == (
            genres,
            artists,
            moods,
        )
        assert index.row_of(ids[7]) == -1  # removed: no row
        assert index.features(index.row_of(ids[1])).artist_display == "The  Band"
    finally:
        station.close()


def test_an_empty_ledger_holds_nothing_per_track(tmp_path, clock) -> None:
    settings = Settings(data_dir=tmp_path / "data", demo_library=False)
    url = settings.resolved_database_url
    ids = fill(url)
    station = build_station(settings, clock=clock)
    station.start()
    try:
        ledger = station.parts.ledger
        assert len(ledger.index) == 0
        assert ledger._state.track_rows == {}  # no key, no row, for any of the tracks
        assert ledger.track_scores(ids).tolist() == [0.5] * len(ids)
        assert ledger.trust_filter(0.5)(np.asarray(ids, dtype=np.int64)).all()
    finally:
        station.close()


def test_a_reloaded_ledger_knows_the_tracks_that_share_a_record(tmp_path, clock) -> None:
    """Only tracks with a record are mapped on load — including a track never voted on
    that shares its content and creator with one that was (found by content id)."""
    settings = Settings(
        data_dir=tmp_path / "data", demo_library=False, difficulty=0, trust_min_voters=1
    )
    url = settings.resolved_database_url
    ids = fill(url)
    store = open_store(url)
    twin = store.tracks.upsert_files(
        [
            ScannedFile(
                "/copies/0.mp3", 1000, 0.0, TrackMeta(title="t0", artist="The  Band"), f"{0:064x}"
            )
        ],
        now=0.0,
    )[0]
    store.close()
    first = build_station(settings, clock=clock)
    first.start()
    first.register_listener("ann", {})
    first.record_interactions([("ann", ids[0], "skip", None), ("ann", ids[2], "like", None)])
    first.parts.ledger.mine_all()
    first.close()

    station = build_station(settings, clock=clock)
    station.start()
    try:
        ledger = station.parts.ledger
        assert len(ledger.index) == 2
        assert set(ledger._state.track_rows) == {ids[0], ids[2], twin}
        assert ledger.track_scores([ids[0], twin, ids[2], ids[3]]).tolist() == [0.0, 0.0, 1.0, 0.5]
        assert ledger.trust_filter(0.5)(np.asarray([twin, ids[3]], dtype=np.int64)).tolist() == [
            False,
            True,
        ]
    finally:
        station.close()
