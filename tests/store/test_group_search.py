"""Full-text search of the library's groups (``LibraryRepository.search_artists`` /
``search_albums``, indexes of migration 0017) on SQLite and PostgreSQL: the track search's
semantics, paging, and the index following rescans and removals of the groups."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from qfzz.errors import InvalidInput
from qfzz.models import QualityReport, ScannedFile, TrackMeta
from qfzz.store._search import MAX_QUERY_CHARS, MAX_WORDS

SONGS = [
    ("Halo", "Beyoncé", "I Am... Sasha Fierce"),
    ("Crazy in Love", "Beyoncé", "Dangerously in Love"),
    ("Straße der Lieder", "Die Ärzte", None),
    ("Blue in Green", "Miles Davis", "Kind of Blue"),
    ("So What", "Miles Davis", "Kind of Blue"),
    ("Abbey Road Medley", "The Beatles", "Abbey Road"),
    ("Yellow Submarine", "The Beatles", "Revolver"),
]


def _file(i: int, title: str, artist: str, album: str | None) -> ScannedFile:
    return ScannedFile(f"/music/{i}.mp3", 1000, 1.0, TrackMeta(title, artist, album), f"c{i}")


def _scan(store, songs=SONGS) -> list[int]:
    return store.tracks.upsert_files([_file(i, *song) for i, song in enumerate(songs)], now=1.0)


def _artists(store, q: str | None) -> list[str]:
    return [a.name for a in store.library.search_artists(q, limit=500, offset=0)]


def _albums(store, q: str | None) -> set[tuple[str | None, str]]:
    return {(g.name, g.artist) for g in store.library.search_albums(q, limit=500, offset=0)}


def test_folded_names_find_the_artist_and_her_albums(store):
    _scan(store)
    for q in ("beyonce", "BEYONCÉ", "yonc"):
        assert _artists(store, q) == ["Beyoncé"], q
        assert _albums(store, q) == {
            ("I Am... Sasha Fierce", "Beyoncé"),
            ("Dangerously in Love", "Beyoncé"),
        }, q
    assert _artists(store, "arzte") == ["Die Ärzte"]
    assert _albums(store, "arzte") == {(None, "Die Ärzte")}  # the untagged album
    assert _albums(store, "ngerous") == {("Dangerously in Love", "Beyoncé")}
    assert _artists(store, "xyz") == [] and _albums(store, "xyz") == set()


def test_every_word_must_match_name_or_artist(store):
    _scan(store)
    assert _albums(store, "blue miles") == {("Kind of Blue", "Miles Davis")}
    assert _albums(store, "road beatles") == {("Abbey Road", "The Beatles")}
    assert _albums(store, "beatles") == {("Abbey Road", "The Beatles"), ("Revolver", "The Beatles")}
    assert _albums(store, "road miles") == set()
    assert _artists(store, "miles davis") == ["Miles Davis"]
    assert _artists(store, "miles beatles") == []
    # a track title is not an album's or an artist's name
    assert _albums(store, "halo") == set() and _artists(store, "halo") == []


def test_short_words_match_word_starts(store):
    _scan(store)
    assert _artists(store, "b") == ["Beyoncé", "The Beatles"]
    assert _artists(store, "th be") == ["The Beatles"]
    assert _artists(store, "ea") == []  # not a word start (Beatles)
    assert _albums(store, "ki") == {("Kind of Blue", "Miles Davis")}


def test_empty_query_pages_every_group_by_name(store):
    _scan(store)
    assert _artists(store, None) == ["Beyoncé", "Die Ärzte", "Miles Davis", "The Beatles"]
    assert _artists(store, "") == _artists(store, None)
    names = [g.name for g in store.library.search_albums(None, limit=500, offset=0)]
    assert names == [
        None,  # the untagged album sorts first ("")
        "Abbey Road",
        "Dangerously in Love",
        "I Am... Sasha Fierce",
        "Kind of Blue",
        "Revolver",
    ]
    second = store.library.search_albums(None, limit=2, offset=2)
    assert [g.name for g in second] == names[2:4]


def test_paging_is_stable_and_complete(store):
    songs = [(f"Song {i}", f"Band {i:03}", f"Record {i:03}") for i in range(90)]
    _scan(store, songs)
    for search, expected in (
        (store.library.search_artists, {s[1] for s in songs}),
        (store.library.search_albums, {s[2] for s in songs}),
    ):
        whole = [g.name for g in search("band", limit=500, offset=0)]
        assert set(whole) == expected
        assert len(whole) == 90
        paged = [g.name for o in range(0, 100, 7) for g in search("band", limit=7, offset=o)]
        assert paged == whole  # every match once, in the same order
        again = [g.name for o in range(0, 100, 7) for g in search("band", limit=7, offset=o)]
        assert again == paged
        # "band" anywhere and a word starting with "01": Band 010..019 (or Record 01x)
        assert len(search("band 01", limit=500, offset=0)) == 10


def test_index_follows_renames_and_removals(store):
    _scan(store)
    changed = [*SONGS]
    changed[0] = ("Halo", "Beyoncé", "Deluxe Edition")
    changed[3] = ("Blue in Green", "Miles Dewey Davis", "Kind of Blue")
    changed[4] = ("So What", "Miles Dewey Davis", "Kind of Blue")
    _scan(store, changed)  # same paths, new tags
    assert _albums(store, "deluxe") == {("Deluxe Edition", "Beyoncé")}
    assert _albums(store, "fierce") == set()  # the old album is gone from the index
    assert _artists(store, "dewey") == ["Miles Dewey Davis"]
    assert _albums(store, "dewey blue") == {("Kind of Blue", "Miles Dewey Davis")}
    store.tracks.mark_removed(["/music/5.mp3", "/music/6.mp3"])  # every Beatles track
    assert _artists(store, "beatles") == [] and _albums(store, "beatles") == set()
    assert _albums(store, "road") == set()
    store.tracks.mark_removed(["/music/1.mp3"])  # one of Beyoncé's two albums
    assert _albums(store, "beyonce") == {("Deluxe Edition", "Beyoncé")}
    assert _artists(store, "beyonce") == ["Beyoncé"]


def test_metadata_only_tracks_form_no_searchable_group(store):
    _scan(store)
    report = QualityReport(0.9, {"metadata": 1.0}, "CC0", 2)
    metas = [TrackMeta("Ünïcode Song", "Dataset Band", "Dataset Album")]
    store.datasets.create("ds", report, metas, ["d1"], now=2.0)
    assert _artists(store, "dataset") == [] and _albums(store, "dataset") == set()


def test_the_group_indexes_exist_at_head(store):
    with store.db.read() as conn:
        if store.db.is_sqlite:
            names = set(conn.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))
            for fts in ("album_search", "artist_search"):
                assert {f"{fts}_insert", f"{fts}_update", f"{fts}_delete"} <= names
        else:
            names = set(conn.scalars(text("SELECT indexname FROM pg_indexes")))
            assert {"ix_albums_search", "ix_artists_search"} <= names


def test_bounds_are_invalid_input(store):
    for q in ("x" * (MAX_QUERY_CHARS + 1), " ".join(f"w{i}" for i in range(MAX_WORDS + 1))):
        with pytest.raises(InvalidInput):
            store.library.search_artists(q, limit=10, offset=0)
        with pytest.raises(InvalidInput):
            store.library.search_albums(q, limit=10, offset=0)


@pytest.mark.parametrize(
    "q", ['"', "*", "(", "NEAR(a b)", "-mix", "a OR b", "%", "_", "\\", "\u0301", "\x00"]
)
def test_hostile_queries_are_plain_text(store, q):
    _scan(store)
    assert isinstance(store.library.search_artists(q, limit=10, offset=0), list)
    assert isinstance(store.library.search_albums(q, limit=10, offset=0), list)
