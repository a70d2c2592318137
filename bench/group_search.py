"""Subsonic ``search3`` over a big library: artists and albums from their full-text
indexes (migration 0017) against the Python scan they replaced, on both databases.

For synthetic catalogs (``_catalog.fill``: ~10 tracks per artist, one album per artist)
this drives the real API in-process (TestClient over a started station, token auth on
every request) and prints p50/p99 in ms of:

* ``search3``: the whole request (artists, albums and songs, 20 of each), distinct
  queries "artist N" / "album N" (a frequent word and a rare number) and short words;
* the groups part alone (``search_artists`` + ``search_albums``, one page of 20 each);
* the baseline: the code before this index, i.e. the station's cached artist and album
  lists (kept until the groups change, so warm here: the kindest case for it) filtered in
  Python with ``needle in name.casefold()`` and the albums sorted by name, then paged.

Every query is distinct (a different number each time). RSS is the whole process's.

    python3 run.py bench group_search [--sizes 100000] [--million] [--db sqlite,postgres]

Measured (one run each, machine shared with a test run and the other database's fill, so
p99s are noisy), 1,000,000 tracks, p50 / p99 ms, the scan's p50 beside:
SQLite: search3 9.6 / 88.8 (scan 140); groups only 1.5 / 36.4 (scan 82); short words
16.6 / 102.2 (scan 75); empty query at an offset 19.2 / 88.0.
PostgreSQL: search3 36.1 / 116.5 (scan 58; its songs part dominates); groups only
5.4 / 8.4 (scan 43); short words 50.0 / 238.8 (scan 49); empty query 31.4 / 104.4.
"""

from __future__ import annotations

import gc
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from _catalog import fill
from browse import database, rss_mb, run, subsonic_caller, timed
from qfzz.api import create_api
from qfzz.app import build_station
from qfzz.settings import Settings
from qfzz.store import open_store


def _python_scan(station: Any, needle: str) -> tuple[list[Any], list[Any]]:
    """What ``_search`` did before the group indexes (on the cached lists)."""
    library = station.library
    found_artists = [a for a in library.artists() if needle in a.name.casefold()]
    found_albums = sorted(
        (
            g
            for g in library.albums()
            if needle in (g.name or "").casefold() or needle in g.artist.casefold()
        ),
        key=lambda g: ((g.name or "").casefold(), g.artist.casefold()),
    )
    return found_artists[:20], found_albums[:20]


def bench(kind: str, n: int, reps: int) -> list[tuple[str, list[float], list[float] | None]]:
    rng = random.Random(n)
    rows: list[tuple[str, list[float], list[float] | None]] = []
    with tempfile.TemporaryDirectory() as tmp, database(kind, Path(tmp)) as url:
        store = open_store(url)
        started = time.perf_counter()
        fill(store, n)
        rows.append(
            (f"build (fill + groups + indexes) {time.perf_counter() - started:.1f} s", [], None)
        )
        if not store.db.is_sqlite:  # what autovacuum does after a bulk import: statistics
            with store.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text("VACUUM ANALYZE tracks"))
                c.execute(text("VACUUM ANALYZE albums"))
                c.execute(text("VACUUM ANALYZE artists"))
        settings = Settings(data_dir=Path(tmp) / "data", demo_library=False, database_url=url)
        station = build_station(settings, store=store)
        station.start()
        try:
            station.register_listener("ann", {"genres": ["jazz"]}, password="pw-1234")
            password = station.accounts.app_password("ann")
            with TestClient(create_api(station, manage_lifecycle=False)) as client:
                gc.freeze()  # as `qfzz serve` does once started (see browse.py)
                sub = subsonic_caller(client, "ann", password)
                artists_n = max(10, n // 10)
                kinds = ("artist", "album")
                needles = [f"{kinds[i % 2]} {rng.randrange(artists_n)}" for i in range(reps)]
                short = [f"{kinds[i % 2][:2]} {rng.randrange(10, 100)}" for i in range(reps)]
                found = sub("search3", query=needles[0])["searchResult3"]
                assert found["artist"] or found["album"], found  # the queries do match
                library = station.library
                station.library.artists(), station.library.albums()  # warm the baseline
                base_reps = max(5, reps // (5 if n <= 100_000 else 20))
                rows += [
                    (
                        'search3 "artist N"/"album N"',
                        timed(lambda i: sub("search3", query=needles[i]), reps),
                        timed(lambda i: _python_scan(station, needles[i]), base_reps),
                    ),
                    (
                        "groups only (20 artists + 20 albums)",
                        timed(
                            lambda i: (
                                library.search_artists(needles[i], limit=20, offset=0),
                                library.search_albums(needles[i], limit=20, offset=0),
                            ),
                            reps,
                        ),
                        timed(lambda i: _python_scan(station, needles[i]), base_reps),
                    ),
                    (
                        'search3 short words "ar NN"',
                        timed(lambda i: sub("search3", query=short[i]), reps),
                        timed(lambda i: _python_scan(station, short[i]), base_reps),
                    ),
                    (
                        "search3 empty query, page at offset",
                        timed(
                            lambda i: sub(
                                "search3",
                                query="",
                                artistOffset=rng.randrange(artists_n - 20),
                                albumOffset=rng.randrange(artists_n - 20),
                            ),
                            reps,
                        ),
                        None,
                    ),
                ]
            rows.append((f"RSS {rss_mb():.0f} MB", [], None))
        finally:
            station.close()
    return rows


def main() -> None:
    run(__doc__.split("\n")[0], bench, "100000", "scan")


if __name__ == "__main__":
    main()
