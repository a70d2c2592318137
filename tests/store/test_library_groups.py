"""The library's group tables (albums, artists, genres, album play counters) follow every
change of the tracks, on SQLite and PostgreSQL.

Each test compares the tables with the groups recomputed from scratch in Python from the
live tracks (what the GROUP BY over all tracks used to answer on every request).
"""

from __future__ import annotations

import random
from collections import defaultdict

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import select

from qfzz.models import (
    AlbumGroup,
    ArtistGroup,
    GenreCount,
    Interaction,
    InteractionType,
    QualityReport,
    ScannedFile,
    TrackMeta,
    album_group_id,
    track_album_key,
    track_artist_key,
)
from qfzz.store import AlbumSort, ListenerRecord, library, open_store
from qfzz.store._database import _MIGRATIONS, Database
from qfzz.store._schema import album_plays, album_ratings, interactions, ratings, tracks


def _file(path: str, artist: str, album: str | None, genre: str | None, **meta) -> ScannedFile:
    values = {"year": 2001, "duration": 60.0, **meta}
    return ScannedFile(
        path=path,
        size=1,
        mtime=0.0,
        meta=TrackMeta(title=path, artist=artist, album=album, genre=genre, **values),
        content_id=path,
    )


def _expected(store) -> tuple[list[AlbumGroup], list[ArtistGroup], list[GenreCount]]:
    """The groups as the old per-request GROUP BY computed them."""
    with store.db.read() as conn:
        ids = list(conn.scalars(select(tracks.c.id)))
    live = [t for t in store.tracks.get_many(ids).values() if t.playable]
    live = [t for t in live if store.tracks.get(t.track_id) is not None]
    by_album = defaultdict(list)
    for t in live:
        by_album[(track_artist_key(t), track_album_key(t))].append(t)
    albums = [
        AlbumGroup(
            ak,
            bk,
            min(t.meta.artist for t in ts),
            min((t.meta.album for t in ts if t.meta.album is not None), default=None),
            len(ts),
            sum(t.meta.duration or 0.0 for t in ts),
            max((t.meta.year for t in ts if t.meta.year is not None), default=None),
            min((t.meta.genre for t in ts if t.meta.genre is not None), default=None),
            0.0,  # compared apart
        )
        for (ak, bk), ts in by_album.items()
    ]
    by_artist = defaultdict(list)
    for t in live:
        by_artist[track_artist_key(t)].append(t)
    artists = [
        ArtistGroup(
            ak,
            min(t.meta.artist for t in ts),
            len({track_album_key(t) for t in ts}),
            len(ts),
        )
        for ak, ts in by_artist.items()
    ]
    by_genre = defaultdict(list)
    for t in live:
        if t.meta.genre is not None:
            by_genre[t.meta.genre].append(t)
    genres = [
        GenreCount(g, len(ts), len({(track_artist_key(t), track_album_key(t)) for t in ts}))
        for g, ts in sorted(by_genre.items())
    ]
    return albums, artists, genres


def _assert_in_step(store) -> None:
    albums, artists, genres = _expected(store)
    stored = [
        AlbumGroup(
            *(g.artist_key, g.album_key, g.artist, g.name, g.song_count),
            g.duration,
            g.year,
            g.genre,
            0.0,
        )
        for g in store.library.albums()
    ]
    key = lambda g: (g.artist_key, g.album_key)  # noqa: E731
    assert sorted(stored, key=key) == sorted(albums, key=key)
    assert sorted(store.library.artists(), key=lambda a: a.artist_key) == sorted(
        artists, key=lambda a: a.artist_key
    )
    assert store.library.genres() == genres
    _assert_listener_albums_in_step(store, {key(g) for g in albums})


def _assert_listener_albums_in_step(store, live_albums: set[tuple[str, str]]) -> None:
    """``album_plays`` and ``album_ratings`` hold, per listener, the plays and the mean
    rating of every album that exists, and nothing for an album that does not."""
    with store.db.read() as conn:
        plays = conn.execute(
            select(
                interactions.c.user_id, interactions.c.track_id, interactions.c.created_at
            ).where(interactions.c.type == InteractionType.PLAY.value)
        ).all()
        rated = conn.execute(select(ratings.c.user_id, ratings.c.track_id, ratings.c.rating)).all()
        stored_plays = {
            (u, a, b): (n, t) for u, a, b, n, t in conn.execute(select(album_plays)).all()
        }
        stored_means = {(u, a, b): m for u, a, b, m in conn.execute(select(album_ratings)).all()}
    every = store.tracks.get_many(sorted({t for _, t, _ in plays} | {t for _, t, _ in rated}))

    def album_of(track_id: int) -> tuple[str, str] | None:
        track = every.get(track_id)
        found = track and (track_artist_key(track), track_album_key(track))
        return found if found in live_albums else None

    counted: dict[tuple[str, str, str], tuple[int, float]] = {}
    for user, track_id, at in plays:
        if (album := album_of(track_id)) is not None:
            n, last = counted.get((user, *album), (0, at))
            counted[(user, *album)] = (n + 1, max(last, at))
    assert stored_plays == counted
    by_album: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for user, track_id, rating in rated:
        if (album := album_of(track_id)) is not None:
            by_album[(user, *album)].append(rating)
    assert stored_means == {k: sum(v) / len(v) for k, v in by_album.items()}


def _listener(store, user_id: str = "ann") -> None:
    store.listeners.create(
        ListenerRecord(user_id, {}, 0.2, 0.5, "varied", 1.0),
        password_hash="x",
        token_digest=user_id[0] * 64,
        weights={},
    )


def test_groups_follow_scans_tag_changes_removals_and_unplayable_tracks(store):
    version = store.library.version()
    store.tracks.upsert_files(
        [
            _file("/a1", "Miles", "Kind of Blue", "jazz"),
            _file("/a2", "miles ", "Kind of Blue", "jazz", year=1959),
            _file("/a3", "Miles", "Kind of Blue", "modal"),
            _file("/b1", "Miles", None, None),
            _file("/c1", "Sabbath", "Paranoid", "metal", duration=300.0),
        ],
        now=10.0,
    )
    _assert_in_step(store)
    assert store.library.version() > version
    kind_of_blue = album_group_id("miles", "Kind of Blue")
    found = store.library.album(kind_of_blue)
    assert found is not None and (found.song_count, found.year, found.created) == (3, 2001, 10.0)
    assert [(g.name, g.song_count, g.album_count) for g in store.library.genres()] == [
        ("jazz", 2, 1),
        ("metal", 1, 1),
        ("modal", 1, 1),
    ]

    # a rescan re-tags /a3: it moves to another album (and artist)
    store.tracks.upsert_files([_file("/a3", "Coltrane", "Giant Steps", "jazz")], now=20.0)
    _assert_in_step(store)
    assert store.library.album(kind_of_blue).song_count == 2
    assert "modal" not in {g.name for g in store.library.genres()}
    assert store.library.artist_named("COLTRANE").song_count == 1

    # the file of Paranoid disappears: its album, artist and genre go
    store.tracks.mark_removed(["/c1"])
    _assert_in_step(store)
    assert store.library.artist_named("sabbath") is None
    assert store.library.album(album_group_id("sabbath", "Paranoid")) is None

    # a track that cannot be played does not count, and counts again once it can
    [b1] = store.tracks.upsert_files([_file("/b1", "Miles", None, None)], now=30.0)
    store.tracks.set_playable(b1, False)
    _assert_in_step(store)
    assert store.library.album(album_group_id("miles", "")) is None
    store.tracks.set_playable(b1, True)
    _assert_in_step(store)
    assert store.library.album(album_group_id("miles", "")).name is None


def test_dataset_tracks_count_once_the_resolver_attaches_their_audio(store):
    report = QualityReport(0.9, {"metadata": 1.0}, "CC0", 2)
    _, ids = store.datasets.create(
        "ds",
        report,
        [TrackMeta("One", "Nina", "Live", "soul"), TrackMeta("Two", "Nina", "Live", "soul")],
        ["c1", "c2"],
        now=5.0,
    )
    assert store.library.albums() == [] and store.library.genres() == []
    assert store.tracks.attach_file(ids[0], "/n1", size=1, mtime=0.0, duration=120.0)
    _assert_in_step(store)
    [live] = store.library.albums()
    assert (live.name, live.song_count, live.duration) == ("Live", 1, 120.0)
    assert store.library.genres() == [GenreCount("soul", 1, 1)]


def test_album_play_counters_follow_plays_and_moved_tracks(store):
    _listener(store)
    ids = store.tracks.upsert_files(
        [_file("/x1", "A", "First", None), _file("/x2", "A", "Second", None)], now=1.0
    )
    plays = [
        Interaction("ann", ids[0], InteractionType.PLAY, None, 5.0),
        Interaction("ann", ids[0], InteractionType.PLAY, None, 6.0),
        Interaction("ann", ids[1], InteractionType.PLAY, None, 9.0),
        Interaction("ann", ids[1], InteractionType.LIKE, None, 9.5),
    ]
    store.interactions.write_batch(plays)
    first, second = album_group_id("a", "First"), album_group_id("a", "Second")
    frequent = store.library.played_albums("ann", recent=False, size=10, offset=0)
    recent = store.library.played_albums("ann", recent=True, size=10, offset=0)
    assert [g.group_id for g in frequent] == [first, second]
    assert [g.group_id for g in recent] == [second, first]
    assert store.library.played_albums("bob", recent=False, size=10, offset=0) == []

    # /x1 is re-tagged into Second: its plays go with it
    store.tracks.upsert_files([_file("/x1", "A", "Second", None)], now=2.0)
    with store.db.read() as conn:
        rows = conn.execute(
            select(album_plays.c.album_key, album_plays.c.plays, album_plays.c.last_played)
        ).all()
    assert sorted(rows) == [("Second", 3, 9.0)]


def test_a_listener_s_albums_go_with_their_album_and_return_with_it(store):
    """A listener's played and rated albums are those that exist: an album whose last
    playable track goes leaves the lists (and its counters), and returns with its plays
    and ratings, also those made while it was gone; pages never come up short."""
    _listener(store)
    files = [_file(f"/g{i}", f"G{i % 3}", f"Album {i}", None) for i in range(12)]
    ids = store.tracks.upsert_files(files, now=1.0)
    store.interactions.write_batch(
        [
            Interaction("ann", track_id, InteractionType.PLAY, None, 10.0 + i)
            for i, track_id in enumerate(ids)
            for _ in range(1 + i % 4)
        ]
    )
    for i, track_id in enumerate(ids):
        store.collections.set_rating("ann", track_id, 1 + i % 5, now=2.0)
    _assert_in_step(store)
    gone = ids[4]
    store.tracks.set_playable(gone, False)
    store.interactions.write_batch([Interaction("ann", gone, InteractionType.PLAY, None, 99.0)])
    store.collections.set_rating("ann", gone, 5, now=3.0)
    _assert_in_step(store)
    gone_id = album_group_id("g1", "Album 4")
    for recent in (False, True):
        pages = [
            store.library.played_albums("ann", recent=recent, size=3, offset=offset)
            for offset in range(0, 11, 3)
        ]
        assert [len(page) for page in pages] == [3, 3, 3, 2]
        assert gone_id not in {g.group_id for page in pages for g in page}
    assert len(store.library.rated_albums("ann", size=20, offset=0)) == 11

    store.tracks.set_playable(gone, True)
    _assert_in_step(store)
    assert store.library.played_albums("ann", recent=True, size=1, offset=0)[0].group_id == gone_id
    assert gone_id in {g.group_id for g in store.library.rated_albums("ann", size=1, offset=0)}


@pytest.mark.parametrize("shallow", [library.SHALLOW_PAGE, 0], ids=["index", "memory"])
def test_album_pages_are_stable_and_follow_their_orders(store, monkeypatch, shallow):
    """Along the index or sliced from the orders held in memory, the same pages."""
    monkeypatch.setattr(library, "SHALLOW_PAGE", shallow)
    rng = random.Random(3)
    files = [
        _file(
            f"/p{i}",
            f"Artist {rng.randrange(7)}",
            f"Album {rng.randrange(25)}",
            rng.choice(["rock", "Rock", "pop"]),
            year=1990 + rng.randrange(5),
        )
        for i in range(120)
    ]
    store.tracks.upsert_files(files, now=1.0)
    everything = store.library.albums()
    for sort in AlbumSort:
        extra = {"years": (1991, 1993)} if sort.name.startswith("BY_YEAR") else {}
        if sort is AlbumSort.BY_GENRE:
            extra = {"genre": " ROCK "}
        whole = store.library.album_page(sort, size=1000, offset=0, **extra)
        paged = [
            g
            for offset in range(0, len(whole), 7)
            for g in store.library.album_page(sort, size=7, offset=offset, **extra)
        ]
        assert paged == whole and len({g.group_id for g in whole}) == len(whole)
        name = lambda g: ((g.name or "").casefold(), g.artist.casefold())  # noqa: E731
        expected = {
            AlbumSort.BY_NAME: sorted(everything, key=name),
            AlbumSort.BY_ARTIST: sorted(
                everything, key=lambda g: (g.artist.casefold(), (g.name or "").casefold())
            ),
            AlbumSort.NEWEST: sorted(everything, key=lambda g: (-g.created, name(g))),
            AlbumSort.BY_GENRE: sorted(
                (g for g in everything if g.genre.casefold() == "rock"), key=name
            ),
            AlbumSort.BY_YEAR: sorted(
                (g for g in everything if 1991 <= g.year <= 1993),
                key=lambda g: (g.year, name(g)),
            ),
            AlbumSort.BY_YEAR_DESC: sorted(
                (g for g in everything if 1991 <= g.year <= 1993),
                key=lambda g: (g.year, name(g)),
                reverse=True,
            ),
        }[sort]
        assert [name(g) for g in whole] == [name(g) for g in expected]
        assert {g.group_id for g in whole} == {g.group_id for g in expected}


def test_deep_pages_follow_every_change_of_the_groups(store, monkeypatch):
    monkeypatch.setattr(library, "SHALLOW_PAGE", 0)
    files = [
        _file(f"/d{i:02}", f"D{i}", f"Deep {i:02}", None, year=2000 + i % 3) for i in range(30)
    ]
    ids = store.tracks.upsert_files(files, now=1.0)
    names = lambda page: [g.name for g in page]  # noqa: E731
    assert names(store.library.album_page(AlbumSort.BY_NAME, size=3, offset=0)) == [
        "Deep 00",
        "Deep 01",
        "Deep 02",
    ]
    store.tracks.set_playable(ids[1], False)
    assert names(store.library.album_page(AlbumSort.BY_NAME, size=3, offset=0)) == [
        "Deep 00",
        "Deep 02",
        "Deep 03",
    ]
    newer = store.library.album_page(AlbumSort.BY_YEAR_DESC, size=2, offset=0, years=(2001, 2002))
    assert names(newer) == ["Deep 29", "Deep 26"]
    store.tracks.upsert_files([_file("/d29", "D29", "Deep 29", None, year=1999)], now=2.0)
    newer = store.library.album_page(AlbumSort.BY_YEAR_DESC, size=2, offset=0, years=(2001, 2002))
    assert names(newer) == ["Deep 26", "Deep 23"]


def test_random_albums_are_distinct_live_albums_in_small_and_large_libraries(store):
    store.tracks.upsert_files([_file(f"/s{i}", "S", f"Small {i}", None) for i in range(5)], now=1)
    rng = random.Random(1)
    drawn = store.library.random_albums(10, rng=rng)
    assert len(drawn) == 5 and len({g.group_id for g in drawn}) == 5
    # a large library, with holes in its row ids: drawn by probes, never a removed album
    store.tracks.upsert_files(
        [_file(f"/l{i}", f"L{i % 50}", f"Large {i}", None) for i in range(2600)], now=2
    )
    store.tracks.mark_removed([f"/l{i}" for i in range(0, 2600, 3)])
    live = {g.group_id for g in store.library.albums()}
    seen: set[str] = set()
    for _ in range(20):
        drawn = store.library.random_albums(40, rng=rng)
        ids = [g.group_id for g in drawn]
        assert len(ids) == 40 and len(set(ids)) == 40 and set(ids) <= live
        seen.update(ids)
    assert len(seen) > 400  # not the same few albums every time


def test_the_migration_backfills_groups_from_existing_tracks(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    db = Database(url)
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0014")
        conn.execute(
            tracks.insert(),
            [
                {
                    "path": f"/old{i}",
                    "title": f"T{i}",
                    "artist": "Old Band",
                    "album": "Then",
                    "genre": "folk",
                    "creator_id": "old band",
                    "playable": i < 3,
                    "removed": False,
                    "added_at": 1.0,
                }
                for i in range(4)
            ],
        )
    db.dispose()
    upgraded = open_store(url)
    try:
        [album] = upgraded.library.albums()
        assert (album.name, album.song_count) == ("Then", 3)
        assert upgraded.library.genres() == [GenreCount("folk", 3, 1)]
        _assert_in_step(upgraded)
    finally:
        upgraded.close()


def test_album_ratings_follow_ratings_and_moved_tracks(store):
    _listener(store)
    _listener(store, "bob")
    ids = store.tracks.upsert_files(
        [
            _file("/r1", "A", "Good", None),
            _file("/r2", "A", "Good", None),
            _file("/r3", "A", "Fair", None),
        ],
        now=1.0,
    )
    good, fair = album_group_id("a", "Good"), album_group_id("a", "Fair")
    store.collections.set_rating("ann", ids[0], 5, now=1.0)
    store.collections.set_rating("ann", ids[1], 2, now=1.0)  # Good: 3.5
    store.collections.set_rating("ann", ids[2], 4, now=1.0)  # Fair: 4
    store.collections.set_rating("bob", ids[2], 1, now=1.0)
    rated = lambda user: [  # noqa: E731
        g.group_id for g in store.library.rated_albums(user, size=10, offset=0)
    ]
    assert rated("ann") == [fair, good]
    store.collections.set_rating("ann", ids[1], 0, now=2.0)  # Good: 5
    assert rated("ann") == [good, fair]
    assert rated("bob") == [fair]
    # /r3 is re-tagged into Good: ann's Good is now (5 + 4) / 2, Fair has no rating left
    store.tracks.upsert_files([_file("/r3", "A", "Good", None)], now=3.0)
    assert rated("ann") == [good] and rated("bob") == [good]
    with store.db.read() as conn:
        assert (
            conn.execute(
                select(album_ratings.c.mean).where(album_ratings.c.user_id == "ann")
            ).scalar_one()
            == 4.5
        )


def test_the_migration_drops_listener_rows_of_albums_that_do_not_exist(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = open_store(url)
    _listener(old)
    [track_id] = old.tracks.upsert_files([_file("/m1", "M", "Kept", None)], now=1.0)
    old.interactions.write_batch([Interaction("ann", track_id, InteractionType.PLAY, None, 2.0)])
    with old.db.write() as conn:  # what the old code left when an album went
        conn.execute(album_plays.insert().values(("ann", "m", "Gone", 3, 1.0)))
        conn.execute(album_ratings.insert().values(("ann", "m", "Gone", 4.0)))
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0017'")  # before 0018
        conn.exec_driver_sql("DROP TABLE leases")  # and what the later revisions made
        conn.exec_driver_sql("DROP TABLE taste_models")
    old.close()
    upgraded = open_store(url)
    try:
        _assert_in_step(upgraded)
        [kept] = upgraded.library.played_albums("ann", recent=False, size=10, offset=0)
        assert kept.name == "Kept"
    finally:
        upgraded.close()
