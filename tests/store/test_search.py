"""Full-text search of tracks (``store._search``) on SQLite and PostgreSQL: folding, words,
short words, paging, and the index following every way tracks change."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from qfzz.errors import InvalidInput
from qfzz.models import SEARCH_COUNT_CAP, QualityReport, ScannedFile, TrackMeta
from qfzz.store._search import MAX_QUERY_CHARS, MAX_WORDS, fold, index_text

SONGS = [
    ("Halo", "Beyoncé", "I Am... Sasha Fierce"),
    ("Crazy in Love", "Beyoncé", "Dangerously in Love"),
    ("Straße der Lieder", "Die Ärzte", None),
    ("Blue in Green", "Miles Davis", "Kind of Blue"),
    ("So What", "Miles Davis", "Kind of Blue"),
    ("Abbey Road Medley", "The Beatles", "Abbey Road"),
    ('Say "Hello" (NEAR*) -mix', "Odd Chars", "Quotes & Stars"),
]


def _file(i: int, title: str, artist: str, album: str | None) -> ScannedFile:
    return ScannedFile(f"/music/{i}.mp3", 1000, 1.0, TrackMeta(title, artist, album), f"c{i}")


def _scan(store, songs=SONGS) -> list[int]:
    return store.tracks.upsert_files([_file(i, *song) for i, song in enumerate(songs)], now=1.0)


def _titles(store, q: str, **kwargs) -> list[str]:
    _total, found = store.tracks.search(q=q, limit=500, **kwargs)
    return [t.title for t in found]


def _songs(store, q: str) -> list[str]:
    return [t.title for t in store.library.search(q, limit=500, offset=0)]


def test_fold_removes_case_and_diacritics():
    assert fold("BEYONCÉ") == "beyonce"
    assert fold("Straße") == "strasse"
    assert fold("ﬁne") == "fine"
    assert index_text(" Die  Ärzte\t") == "  die  arzte"


def test_substring_inside_a_word_case_and_diacritics_folded(store):
    _scan(store)
    for q in ("beyonce", "BEYONCE", "Beyoncé", "eyon", "YONC"):
        assert _titles(store, q) == ["Halo", "Crazy in Love"], q
        assert _songs(store, q) == ["Halo", "Crazy in Love"], q
    assert _titles(store, "arzte") == ["Straße der Lieder"]
    assert _titles(store, "strasse") == ["Straße der Lieder"]
    assert _titles(store, "ngerous") == ["Crazy in Love"]  # inside an album word
    assert _titles(store, "xyz") == []


def test_every_word_must_match_in_any_field(store):
    _scan(store)
    assert _titles(store, "blue miles") == ["Blue in Green", "So What"]
    assert _titles(store, "green miles") == ["Blue in Green"]
    assert _titles(store, "green beatles") == []
    assert _titles(store, "miles miles MILES") == ["Blue in Green", "So What"]
    # a word never spans two fields or two words
    assert _titles(store, "halobeyonce") == []
    assert _titles(store, "inlove") == []


def test_short_words_match_word_starts(store):
    _scan(store)
    assert _titles(store, "so") == ["So What"]
    assert _titles(store, "b") == [
        "Halo",
        "Crazy in Love",
        "Blue in Green",
        "So What",
        "Abbey Road Medley",
    ]  # Beyoncé, Blue (a title, an album), Beatles
    assert _titles(store, "ab ro") == ["Abbey Road Medley"]
    assert _titles(store, "bb") == []  # not a word start (Abbey)
    assert _titles(store, "ÄR") == ["Straße der Lieder"]  # folded to "ar": Ärzte
    assert _titles(store, "so wh") == ["So What"]


def test_paging_is_stable_and_complete(store):
    songs = [(f"Song {i:03}", f"Band {i % 7}", f"Record {i % 5}") for i in range(120)]
    ids = _scan(store, songs)
    total, _ = store.tracks.search(q="song", limit=1)
    assert total == 120
    pages = []
    for offset in range(0, 130, 25):
        _total, found = store.tracks.search(q="song", limit=25, offset=offset)
        pages.extend(t.track_id for t in found)
    assert pages == sorted(ids)  # every match once, in id order
    songs_paged = [
        t.track_id
        for o in range(0, 130, 40)
        for t in store.library.search("ong", limit=40, offset=o)
    ]
    assert songs_paged == sorted(ids)
    # "band" anywhere, and a word starting with "3": Band 3, or Record 3
    band3 = [i for i, s in zip(ids, songs, strict=True) if "3" in (s[1][-1], s[2][-1])]
    paged: list[int] = []
    while page := store.tracks.search(q="band 3", limit=4, offset=len(paged))[1]:
        paged.extend(t.track_id for t in page)
    assert paged == band3


def test_count_stops_at_the_cap(store):
    songs = [(f"Tune {i}", "Same Artist", None) for i in range(SEARCH_COUNT_CAP + 5)]
    _scan(store, songs)
    total, found = store.tracks.search(q="tune", limit=10, offset=SEARCH_COUNT_CAP)
    assert total == SEARCH_COUNT_CAP + 1  # "more than the cap"
    assert [t.title for t in found] == [f"Tune {i}" for i in range(SEARCH_COUNT_CAP, len(songs))]
    total, _ = store.tracks.search(q="tune 7")  # a short word: numbers starting with 7
    assert total == len([i for i in range(len(songs)) if str(i).startswith("7")])
    total, _ = store.tracks.search(q="tune 777")  # exact below the cap
    assert total == len([i for i in range(len(songs)) if "777" in str(i)])
    total, _ = store.tracks.search(q="tune 7", genre="none")
    assert total == 0


def test_index_follows_rescans_removals_and_imports(store):
    ids = _scan(store)
    changed = [*SONGS]
    changed[0] = ("Halo (Remastered)", "Beyoncé Knowles", "Deluxe")
    _scan(store, changed)  # same path, new tags
    assert _titles(store, "remaster") == ["Halo (Remastered)"]
    assert _titles(store, "knowles") == ["Halo (Remastered)"]
    assert _titles(store, "fierce") == []  # the old album is gone from the index
    store.tracks.mark_removed(["/music/3.mp3"])  # Blue in Green
    assert _titles(store, "miles") == ["So What"]
    assert _songs(store, "miles") == ["So What"]
    report = QualityReport(0.9, {"metadata": 1.0}, "CC0", 2)
    metas = [TrackMeta("Ünïcode Song", "Dataset Band"), TrackMeta("Other", "Dataset Band")]
    _record, new = store.datasets.create("ds", report, metas, ["d1", "d2"], now=2.0)
    assert _titles(store, "unicode") == ["Ünïcode Song"]
    assert _songs(store, "unicode") == []  # not playable until a file is attached
    assert store.tracks.attach_file(new[0], "/music/found.mp3", size=1, mtime=1.0, duration=9.0)
    assert _songs(store, "unicode") == ["Ünïcode Song"]
    assert ids[0] in {t.track_id for t in store.tracks.search(q="deluxe")[1]}


def test_deleted_rows_leave_the_index(store):
    ids = _scan(store)
    with store.db.write() as conn:
        conn.execute(text("DELETE FROM tracks WHERE id = :i"), {"i": ids[0]})
    assert _titles(store, "halo") == []


@pytest.mark.parametrize(
    "q",
    [
        '"',
        '""',
        "*",
        "(",
        ")",
        "NEAR",
        "NEAR(a b)",
        "-mix",
        "a OR b",
        "hello*",
        "title:halo",
        "%",
        "_",
        "\\",
        "'; DROP TABLE tracks; --",
        "x" * 1000,
        "\u0301",  # a lone combining mark folds to nothing
        "\x00",
    ],
)
def test_hostile_queries_are_plain_text(store, q):
    _scan(store)
    total, found = store.tracks.search(q=q)
    assert total == len(found)
    assert store.library.search(q, limit=10, offset=0) is not None
    assert store.tracks.count() == len(SONGS)


def test_syntax_characters_are_found_literally(store):
    _scan(store)
    title = 'Say "Hello" (NEAR*) -mix'
    for q in ('"hello"', "(near*)", "ar*", "-mix", '"', "(n", "&"):
        assert _titles(store, q) == [title], q


def test_too_many_words_or_characters_are_refused(store):
    with pytest.raises(InvalidInput):
        store.tracks.search(q=" ".join(f"w{i}" for i in range(MAX_WORDS + 1)))
    with pytest.raises(InvalidInput):
        store.library.search("x" * (MAX_QUERY_CHARS + 1), limit=10, offset=0)


def test_the_search_index_exists_at_head(store):
    with store.db.read() as conn:
        if store.db.is_sqlite:
            names = set(conn.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))
            assert {"track_search_insert", "track_search_update", "track_search_delete"} <= names
        else:
            names = set(conn.scalars(text("SELECT indexname FROM pg_indexes")))
            assert "ix_tracks_search" in names
