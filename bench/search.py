"""Track search at catalog scale: the full-text index against the LIKE scan it replaced.

Fills a synthetic catalog (``_catalog.fill``: titles "Track N", artists "Artist N", albums
"Album N") on SQLite and PostgreSQL, then times distinct queries (numbers inside words,
several words, frequent words, one- and two-letter words, misses) through the two store
calls the routes make: ``TrackRepository.search`` (``GET /api/v1/tracks?q=``: a 50-track
page and its capped count) and ``LibraryRepository.search`` (Subsonic ``search3`` songs: a
20-song page). The old query (``lower(col) LIKE '%q%'`` over the three fields, ordered by
artist, album, title, with an exact count) runs on a few of the same queries for the ratio.
On PostgreSQL ``--tsvector`` also builds a ``tsvector`` GIN index and times word queries
on it (it cannot answer the inside of a word at all). Prints p50/p99 side by side and the
whole process's peak RSS. Targets at 1M tracks: REST ≤ 20 ms p50 and p99, search3 ≤ 30 ms.

    python3 run.py bench search [--tracks 1000000] [--queries 300] [--no-postgres]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import create_engine, func, or_, select, text

from _catalog import fill
from qfzz.store import Store, open_store
from qfzz.store._rows import TRACK_COLUMNS
from qfzz.store._schema import tracks

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def queries(n_tracks: int, count: int, seed: int = 11) -> list[str]:
    """Distinct queries of the kinds people type, over the synthetic vocabulary."""
    rng = np.random.default_rng(seed)
    artists = max(10, n_tracks // 10)
    kinds: list[Callable[[], str]] = [
        lambda: str(rng.integers(10_000, n_tracks)),  # a number inside a title
        lambda: f"track {rng.integers(1_000, n_tracks)}",  # two words, one frequent
        lambda: f"artist {rng.integers(100, artists)} album",  # three words
        lambda: f"RACK {rng.integers(1_000, n_tracks)}",  # inside a word, case
        lambda: f"artïst {rng.integers(1_000, artists)}",  # a diacritic folded
        lambda: f"tr {rng.integers(100, 999)}",  # a two-letter word start
        lambda: f"{rng.integers(1, 10)}",  # one character: word starts
        lambda: f"zq{rng.integers(0, 10**6)}x",  # no match
        lambda: f"album {rng.integers(1, 9)}",  # frequent word, short word
    ]
    found: dict[str, None] = {}
    attempt = 0
    while len(found) < count:  # a kind with few distinct queries (one digit) repeats
        found[kinds[attempt % len(kinds)]()] = None
        attempt += 1
    return list(found)


def timed(call: Callable[[str], Any], qs: list[str]) -> list[float]:
    spent = []
    for q in qs:
        start = time.perf_counter()
        call(q)
        spent.append((time.perf_counter() - start) * 1000)
    return spent


def old_search(store: Store, q: str) -> tuple[int, list[Any]]:
    """The replaced query: a LIKE scan of three lowered columns, exact count, sort."""
    escaped = q.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    match = or_(
        *(
            func.lower(c).like(pattern, escape="\\")
            for c in (tracks.c.title, tracks.c.artist, tracks.c.album)
        )
    )
    where = (tracks.c.removed.is_(False), match)
    with store.db.read() as conn:
        total = conn.execute(select(func.count()).select_from(tracks).where(*where)).scalar_one()
        rows = conn.execute(
            select(*TRACK_COLUMNS)
            .where(*where)
            .order_by(tracks.c.artist, tracks.c.album, tracks.c.title, tracks.c.id)
            .limit(50)
        ).all()
    return int(total), rows


def tsvector_search(store: Store, q: str) -> list[Any]:
    """Word (prefix) search through a tsvector index, for comparison on PostgreSQL."""
    words = " & ".join(f"{w}:*" for w in q.lower().split() if w.isalnum())
    with store.db.read() as conn:
        return conn.execute(
            text(
                "SELECT id FROM tracks WHERE to_tsvector('simple', search_text)"
                " @@ to_tsquery('simple', :q) AND NOT removed ORDER BY id LIMIT 50"
            ),
            {"q": words},
        ).all()


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(values, p))


def measure(name: str, store: Store, n: int, qs: list[str], baseline: int, tsv: bool) -> None:
    start = time.perf_counter()
    fill(store, n)  # on PostgreSQL followed by VACUUM ANALYZE, as autovacuum would
    print(
        f"\n{name}: {n:,} tracks filled (index kept by the database) in "
        f"{time.perf_counter() - start:.0f} s"
    )
    rest = timed(lambda q: store.tracks.search(q=q, limit=50), qs)
    songs = timed(lambda q: store.library.search(q, limit=20, offset=0), qs)
    print(f"  {'call':<38} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for label, spent in (
        ("tracks?q= (page of 50 + capped count)", rest),
        ("search3 songs (page of 20)", songs),
    ):
        print(f"  {label:<38} {pct(spent, 50):8.2f} {pct(spent, 99):8.2f} {max(spent):8.2f}")
    worst = sorted(zip(rest, qs, strict=True), reverse=True)[:3]
    print("  slowest REST queries: " + ", ".join(f"{q!r} {ms:.1f} ms" for ms, q in worst))
    if baseline:
        sample = qs[:baseline]
        old = timed(lambda q: old_search(store, q), sample)
        new = timed(lambda q: store.tracks.search(q=q, limit=50), sample)
        print(
            f"  old LIKE scan on {baseline} of these queries: p50 {pct(old, 50):.0f} ms vs "
            f"index {pct(new, 50):.2f} ms ({pct(old, 50) / pct(new, 50):.0f}x)"
        )
    if tsv:
        with store.db.engine.begin() as conn:
            start = time.perf_counter()
            conn.execute(
                text(
                    "CREATE INDEX bench_tsv ON tracks USING gin"
                    " (to_tsvector('simple', search_text))"
                )
            )
            print(f"  tsvector GIN index built in {time.perf_counter() - start:.0f} s")
        words = [q for q in qs if q.split()[0] in ("track", "album")]
        trgm = timed(lambda q: store.tracks.search(q=q, limit=50), words)
        tsvq = timed(lambda q: tsvector_search(store, q), words)
        print(
            f"  word queries ({len(words)}): pg_trgm p50 {pct(trgm, 50):.2f} / p99 "
            f"{pct(trgm, 99):.2f} ms, tsvector (page only, no count) p50 "
            f"{pct(tsvq, 50):.2f} / p99 {pct(tsvq, 99):.2f} ms"
        )
        with store.db.read() as conn:
            sizes = conn.execute(
                text("SELECT pg_relation_size('ix_tracks_search'), pg_relation_size('bench_tsv')")
            ).one()
        print(
            f"  index sizes: pg_trgm {sizes[0] / 2**20:.0f} MiB, tsvector "
            f"{sizes[1] / 2**20:.0f} MiB"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tracks", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--baseline", type=int, default=5, help="queries run the old way")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--tsvector", action="store_true")
    args = parser.parse_args()
    qs = queries(args.tracks, args.queries)
    print(f"{len(qs)} distinct queries, e.g. {qs[:9]}")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "search.db"
        if not args.no_sqlite:
            store = open_store(f"sqlite:///{db}")
            measure("SQLite", store, args.tracks, qs, args.baseline, tsv=False)
            store.close()
            print(f"  database file {db.stat().st_size / 2**20:.0f} MiB")
    if not args.no_postgres:
        schema = f"bench_search_{uuid.uuid4().hex[:8]}"
        admin = create_engine(POSTGRES)
        with admin.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public"))
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public"))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            store = open_store(f"{POSTGRES}?options=-csearch_path%3D{schema},public")
            measure("PostgreSQL", store, args.tracks, qs, args.baseline, tsv=args.tsvector)
            store.close()
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nwhole process peak RSS {rss:.0f} MiB (the catalog rows are built in memory)")


if __name__ == "__main__":
    sys.exit(main())
