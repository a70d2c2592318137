"""Browsing a big library: Subsonic album lists, artists, albums, search, on both databases.

For synthetic catalogs (``_catalog.fill``: ~10 tracks per artist, one album per artist,
48 genres) on SQLite and PostgreSQL, this drives the real API (a ``qfzz serve`` on the
catalog's database, over loopback with a keep-alive client, Subsonic token auth on every
request; ``--http testclient``: FastAPI's TestClient over a station in this process, whose
own overhead is ~3 ms a request) and prints, per
request, p50 and p99 in ms next to the naive baseline: the same answer as one plain SQL
query over the tracks (GROUP BY over every track, ORDER BY in SQL, LIMIT/OFFSET; the
per-listener lists grouping all the listener's interactions; LIKE scans for searches),
which is what the code did before the group tables (it then also sorted in Python). The
baseline is the SQL alone, without HTTP, auth or rendering, so the ratio is conservative.

Every request has distinct inputs (offsets, ids, queries, genres), so no page is answered
twice. The exceptions are by design and said so: ``getArtists``/``getIndexes`` answer from
the artist list the station keeps until the groups change (their "cold" row is the first
request after a change: the whole list read again from the artists table and rendered).
Each timed series of API requests follows ``WARM_UP`` untimed ones on other inputs, as a
server that has been up a while has done; the first of the album lists' warm-ups is
reported on its own row ("first request of each type"), since it pays for what the server
keeps per library version (the order ids behind deep pages).
One listener has 20,000 plays over 6,000 tracks, 2,000 ratings and 300 starred
albums, for the per-listener lists.

    python3 run.py bench browse [--sizes 10000,100000] [--million] [--db sqlite,postgres]
                                [--http server|testclient]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import random
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from _catalog import GENRES, fill
from _server import http_ok, spawn, wait_quiet
from qfzz.api import create_api
from qfzz.api.subsonic._lists import ALBUM_LIST_TYPES
from qfzz.app import build_station
from qfzz.models import Interaction, InteractionType
from qfzz.settings import Settings
from qfzz.store import open_store

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
LIST_TYPES = [
    "random",
    "newest",
    "frequent",
    "recent",
    "highest",
    "alphabeticalByName",
    "alphabeticalByArtist",
    "starred",
    "byYear",
    "byGenre",
]
AK = "coalesce(creator_id, lower(artist))"
BK = "coalesce(album, '')"
LIVE = "removed = false AND playable = true"
GROUP = (
    f"SELECT {AK} AS ak, {BK} AS bk, min(artist) AS artist, min(album) AS name,"
    f" count(*) AS n, sum(coalesce(duration, 0)) AS d, max(year) AS year,"
    f" min(genre) AS genre, min(added_at) AS created FROM tracks WHERE {LIVE}"
)
ALL = f"SELECT * FROM ({GROUP} GROUP BY 1, 2) AS g"
#: The baseline per album list type: the old GROUP BY, ordered and paged in SQL.
NAIVE_LISTS = {
    "random": f"{ALL} ORDER BY random() LIMIT 10",
    "newest": f"{ALL} ORDER BY created DESC, lower(name), lower(artist) LIMIT 10 OFFSET :offset",
    "alphabeticalByName": f"{ALL} ORDER BY lower(name), lower(artist) LIMIT 10 OFFSET :offset",
    "alphabeticalByArtist": f"{ALL} ORDER BY lower(artist), lower(name) LIMIT 10 OFFSET :offset",
    "byYear": f"{ALL} WHERE year BETWEEN 1990 AND 2010"
    " ORDER BY year, lower(name), lower(artist) LIMIT 10 OFFSET :offset",
    "byGenre": f"{ALL} WHERE lower(genre) = :genre"
    " ORDER BY lower(name), lower(artist) LIMIT 10 OFFSET :offset",
    "frequent": f"SELECT {AK}, {BK}, count(*) AS n FROM interactions JOIN tracks"
    " ON tracks.id = interactions.track_id WHERE user_id = 'ann' AND type = 'play'"
    " GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 10 OFFSET :offset",
    "recent": f"SELECT {AK}, {BK}, max(interactions.created_at) AS t FROM interactions"
    " JOIN tracks ON tracks.id = interactions.track_id WHERE user_id = 'ann'"
    " AND type = 'play' GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 10 OFFSET :offset",
    "highest": f"SELECT {AK}, {BK}, avg(rating) AS r FROM ratings JOIN tracks"
    " ON tracks.id = ratings.track_id WHERE user_id = 'ann' GROUP BY 1, 2"
    " ORDER BY 3 DESC LIMIT 10 OFFSET :offset",
    "starred": "SELECT item_key FROM favorites WHERE user_id = 'ann' AND kind = 'album'"
    " ORDER BY created_at LIMIT 10 OFFSET :offset",  # then the GROUP BY of those albums
}
NAIVE_ARTISTS = (
    f"SELECT {AK}, min(artist), count(DISTINCT {BK}), count(*) FROM tracks WHERE {LIVE} GROUP BY 1"
)
NAIVE_ALBUM = f"{GROUP} AND {AK} = :ak AND {BK} = :bk GROUP BY 1, 2"
LIKE = "(lower(title) LIKE :p OR lower(artist) LIKE :p OR lower(album) LIKE :p)"
NAIVE_SEARCH3 = (
    f"SELECT * FROM tracks WHERE {LIVE} AND {LIKE} ORDER BY artist, album, title, id LIMIT 20"
)
NAIVE_TRACKS = f"SELECT count(*) FROM tracks WHERE removed = false AND {LIKE}"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


#: How requests reach the API (``--http``): "server", a real ``qfzz serve`` on loopback
#: (uvicorn, as deployed) asked by a keep-alive HTTP client; or "testclient", FastAPI's
#: TestClient over this process's station, whose thread hops per ASGI message cost
#: ~3 ms a request here (a ``ping`` p50 of 5.2 ms against ~1 ms over loopback).
HTTP = ["server"]


@contextmanager
def http_client(url: str, data_dir: Path, station: Any) -> Iterator[tuple[Any, int | None]]:
    """A client of the API on ``station``'s database and data directory (where the key
    of the listeners' app passwords is), and the server's pid if it has one."""
    if HTTP[0] == "testclient":
        with TestClient(create_api(station, manage_lifecycle=False)) as client:
            yield client, None
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "QFZZ_DATABASE_URL": url,
        "QFZZ_LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    command = [sys.executable, "-m", "qfzz", "serve", "--data-dir", str(data_dir)]
    with (
        spawn(
            [*command, "--port", str(port), "--no-demo"],
            ready=http_ok(f"{base}/api/v1/health"),
            env=env,
            name="qfzz serve",
        ) as server,
        httpx.Client(base_url=base, timeout=60) as client,
    ):
        wait_quiet(server.pid)  # its first model fit (a child process) is start-up work
        yield client, server.pid


def rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def database(kind: str, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'bench.db'}"
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


#: How an ok JSON answer begins (the status is the envelope's first field).
OK_PREFIX = b'{"subsonic-response":{"status":"ok"'


def subsonic_caller(
    client: httpx.Client, user: str, password: str, *, parse: bool = True
) -> Callable[..., dict[str, Any]]:
    """``sub(method, **params)``: one Subsonic call as ``user`` with a fresh salted token
    (as apps send it), its ``subsonic-response`` checked ok and returned. With ``parse``
    False the status is checked on the answer's first bytes and nothing is returned: a
    timed call then measures the server, not the client's JSON parser (10 MB of it for
    ``getArtists`` at a million tracks)."""

    def sub(method: str, **params: Any) -> dict[str, Any]:
        salt = uuid.uuid4().hex[:8]
        auth = {
            "u": user,
            "t": hashlib.md5((password + salt).encode()).hexdigest(),
            "s": salt,
            "c": "bench",
            "v": "1.16.1",
            "f": "json",
        }
        answer = client.get(f"/rest/{method}", params={**auth, **params})
        if not parse:
            assert answer.content.startswith(OK_PREFIX), answer.content[:300]
            return {}
        body: dict[str, Any] = answer.json()["subsonic-response"]
        assert body["status"] == "ok", body
        return body

    return sub


#: Requests run before each timed series, on inputs the series does not use (``fn(i)`` for
#: ``i`` past its reps): a server's first requests of a kind load what it then keeps per
#: library version (the order ids of deep pages, database pages into the cache), which
#: is the cold cost the ``first request`` row reports, not the steady state's p99.
WARM_UP = 20


def timed(fn: Callable[[int], Any], reps: int, *, first: list[float] | None = None) -> list[float]:
    """``reps`` timed calls ``fn(0)`` … ``fn(reps - 1)``; with ``first``, WARM_UP untimed
    calls on other inputs go before them, and the first of those is appended to ``first``."""
    if first is not None:
        for i in range(reps, reps + WARM_UP):
            start = time.perf_counter()
            fn(i)
            if i == reps:
                first.append((time.perf_counter() - start) * 1000)
    out = []
    for i in range(reps):
        start = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - start) * 1000)
    return out


def listener_history(store: Any, n: int, rng: random.Random) -> None:
    """ann: 20,000 plays over 6,000 tracks (up to 6,000 albums), 2,000 ratings."""
    pool = rng.sample(range(1, n + 1), min(6000, n))
    plays = [
        Interaction("ann", rng.choice(pool), InteractionType.PLAY, None, float(i))
        for i in range(20_000)
    ]
    for start in range(0, len(plays), 5000):
        store.interactions.write_batch(plays[start : start + 5000])
    for track_id in rng.sample(range(1, n + 1), min(2000, n)):
        store.collections.set_rating("ann", track_id, rng.randint(1, 5), now=1.0)


def bench(kind: str, n: int, reps: int) -> list[tuple[str, list[float], list[float] | None]]:
    rng = random.Random(n)
    rows: list[tuple[str, list[float], list[float] | None]] = []
    with tempfile.TemporaryDirectory() as tmp, database(kind, Path(tmp)) as url:
        store = open_store(url)
        started = time.perf_counter()
        fill(store, n)
        build_s = time.perf_counter() - started
        settings = Settings(data_dir=Path(tmp) / "data", demo_library=False, database_url=url)
        station = build_station(settings, store=store)
        station.start()
        try:
            station.register_listener("ann", {"genres": ["jazz"]}, password="pw-1234")
            password = station.accounts.app_password("ann")
            token = station.register_listener("bob", {"genres": ["rock"]}).token
            listener_history(store, n, rng)
            album_ids = [g.group_id for g in store.library.albums()]
            store.collections.star("ann", "album", rng.sample(album_ids, 300), now=2.0)
            with http_client(url, settings.data_dir, station) as (client, server_pid):
                # as `qfzz serve` does once started (qfzz.app.run_http): what set-up built
                # is left out of the cyclic collector's full collections
                gc.freeze()
                rows = measure(station, client, store, password, token, album_ids, n, reps, rng)
                rss = f"server RSS {rss_mb(server_pid):.0f} MB" if server_pid else ""
            rows.insert(0, (f"build (fill + groups) {build_s:.1f} s", [], None))
            rows.insert(1, (f"HTTP: {HTTP[0]}", [], None))
            rows.append((f"RSS {rss_mb():.0f} MB (this process) {rss}", [], None))
        finally:
            station.close()
    return rows


def measure(
    station: Any,
    client: httpx.Client,
    store: Any,
    password: str,
    token: str,
    album_ids: list[str],
    n: int,
    reps: int,
    rng: random.Random,
) -> list[tuple[str, list[float], list[float] | None]]:
    sub = subsonic_caller(client, "ann", password, parse=False)

    #: The baseline's seconds-long scans at 1M tracks are sampled fewer times (its p99
    #: is then the slowest of those samples).
    naive_reps = reps if n <= 10_000 else max(5, reps // (10 if n <= 100_000 else 40))

    def naive(sql: str, params: Callable[[int], dict[str, Any]], count: int = reps) -> list[float]:
        with store.db.engine.connect() as conn:
            return timed(lambda i: conn.execute(text(sql), params(i)).all(), min(count, naive_reps))

    albums = len(album_ids)
    firsts: list[float] = []
    rows: list[tuple[str, list[float], list[float] | None]] = [
        ("ping (the HTTP + auth floor)", timed(lambda i: sub("ping"), reps, first=[]), None)
    ]
    for kind in LIST_TYPES:
        span = {"frequent": 4000, "recent": 4000, "highest": 1500, "starred": 290}.get(
            kind, albums - 10
        )

        def offset(i: int, span: int = span) -> int:
            return (i * 7919) % max(1, span)

        def call(i: int, kind: str = kind) -> None:
            genre = GENRES[i % len(GENRES)]
            sub(
                "getAlbumList2",
                type=kind,
                size=10,
                offset=0 if kind == "random" else offset(i) // (48 if kind == "byGenre" else 1),
                fromYear=1990,
                toYear=2010,
                genre=genre,
            )

        ours = timed(call, reps, first=firsts)
        order = ALBUM_LIST_TYPES[kind]

        def direct(i: int, kind: str = kind, order: Any = order) -> None:
            station.library.album_list(
                "ann",
                order,
                size=10,
                offset=0 if kind == "random" else offset(i) // (48 if kind == "byGenre" else 1),
                from_year=1990,
                to_year=2010,
                genre=GENRES[i % len(GENRES)],
            )

        inside = timed(direct, reps)
        base = naive(
            NAIVE_LISTS[kind],
            lambda i, kind=kind: {
                "offset": offset(i) // (48 if kind == "byGenre" else 1),
                "genre": GENRES[i % len(GENRES)],
            },
        )
        rows.append((f"getAlbumList2 {kind}", ours, base))
        rows.append((f"  station.album_list {kind}", inside, base))
    rows.append(("getAlbumList2, first request of each type (cold)", firsts, None))
    rows.append(
        (
            "getAlbumList alphabeticalByName",
            timed(
                lambda i: sub(
                    "getAlbumList", type="alphabeticalByName", size=10, offset=i * 13 % albums
                ),
                reps,
                first=[],
            ),
            None,
        )
    )
    # getArtists / getIndexes: the first request after a change rebuilds the cached list
    for method in ("getArtists", "getIndexes"):
        cold = []
        for _ in range(3):
            store.tracks.set_playable(1 + rng.randrange(n), False)  # a change: the list is stale
            start = time.perf_counter()
            sub(method)
            cold.append((time.perf_counter() - start) * 1000)
        warm = timed(lambda i, method=method: sub(method), max(10, reps // 10))
        base = naive(NAIVE_ARTISTS, lambda i: {}, max(10, reps // 10))
        rows.append((f"{method} (cached list)", warm, base))
        rows.append((f"{method} cold (after a scan)", cold, None))
    picks = rng.sample(album_ids, min(reps + WARM_UP, len(album_ids)))
    keys = {g.group_id: g for g in store.library.albums_by_id(picks).values()}
    rows.append(
        (
            "getAlbum",
            timed(lambda i: sub("getAlbum", id=f"al-{picks[i % len(picks)]}"), reps, first=[]),
            naive(
                NAIVE_ALBUM,
                lambda i: {
                    "ak": keys[picks[i % len(picks)]].artist_key,
                    "bk": keys[picks[i % len(picks)]].album_key,
                },
            ),
        )
    )
    artist_ids = [a.group_id for a in store.library.artists()]
    rows.append(
        (
            "getArtist",
            timed(
                lambda i: sub("getArtist", id=f"ar-{artist_ids[i * 31 % len(artist_ids)]}"),
                reps,
                first=[],
            ),
            None,
        )
    )
    rows.append(
        (
            "getGenres",
            timed(lambda i: sub("getGenres"), reps),
            naive(
                f"SELECT genre, count(*), count(DISTINCT {AK} || {BK}) FROM tracks WHERE {LIVE}"
                " GROUP BY genre ORDER BY genre",
                lambda i: {},
            ),
        )
    )
    search_reps = max(10, reps // 10)
    needles = [f"track {rng.randrange(n)}" for _ in range(search_reps + WARM_UP)]
    rows.append(
        (
            "search3 (distinct queries)",
            timed(lambda i: sub("search3", query=needles[i]), search_reps, first=[]),
            naive(NAIVE_SEARCH3, lambda i: {"p": f"%{needles[i]}%"}, search_reps),
        )
    )
    rows.append(
        (
            "/api/v1/tracks?q= (distinct)",
            timed(
                lambda i: client.get(
                    "/api/v1/tracks",
                    params={"q": needles[i], "limit": 20},
                    headers={"Authorization": f"Bearer {token}"},
                ).raise_for_status(),
                search_reps,
                first=[],
            ),
            naive(NAIVE_TRACKS, lambda i: {"p": f"%{needles[i]}%"}, search_reps),
        )
    )
    return rows


Bench = Callable[[str, int, int], list[tuple[str, list[float], list[float] | None]]]


def run(description: str, bench_fn: Bench, default_sizes: str, baseline: str) -> None:
    """Parse the shared options, run ``bench_fn`` per database and size, and print each
    request's p50 / p99 beside its ``baseline``'s and the ratio of the p50s."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--sizes", default=default_sizes)
    parser.add_argument("--million", action="store_true", help="also 1,000,000 tracks")
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--http", choices=["server", "testclient"], default=HTTP[0])
    args = parser.parse_args()
    HTTP[0] = args.http
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if args.million:
        sizes.append(1_000_000)
    for kind in args.db.split(","):
        for n in sizes:
            print(f"\n== {kind}, {n:,} tracks ==", flush=True)
            print(
                f"{'request':38} {'p50 ms':>8} {'p99 ms':>8} {baseline + ' p50':>10} "
                f"{baseline + ' p99':>10} {'p50 ratio':>10}"
            )
            for name, ours, base in bench_fn(kind, n, args.reps):
                if not ours:
                    print(name)
                    continue
                line = f"{name:38} {statistics.median(ours):8.2f} {percentile(ours, 0.99):8.2f}"
                if base:
                    ratio = statistics.median(base) / statistics.median(ours)
                    line += (
                        f" {statistics.median(base):10.2f} {percentile(base, 0.99):10.2f}"
                        f" {ratio:9.1f}x"
                    )
                print(line, flush=True)


def main() -> None:
    run(__doc__.split("\n")[0], bench, "10000,100000", "naive")


if __name__ == "__main__":
    main()
