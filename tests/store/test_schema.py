from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from qfzz.store import open_store
from qfzz.store._schema import metadata


def _declared(name, kind, _parent) -> bool:
    """The search indexes (``store._search``: FTS5 tables and their shadow tables on SQLite,
    generated columns and their indexes on PostgreSQL) are made by migrations 0015 and 0017
    only, outside the declared tables (SQLAlchemy cannot express either)."""
    return not (name or "").startswith(
        (
            "track_search",
            "album_search",
            "artist_search",
            "ix_tracks_search",
            "ix_albums_search",
            "ix_artists_search",
            "search_text",
        )
    )


def test_migrations_create_exactly_the_declared_schema(store):
    with store.db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": _declared})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_upgrade_is_idempotent(store_url):
    first = open_store(store_url)
    first.close()
    second = open_store(store_url)  # a second start must not fail or change anything
    assert second.tracks.count() == 0
    second.close()


def test_sqlite_runs_in_wal_mode(sqlite_url):
    opened = open_store(sqlite_url)
    with opened.db.read() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    opened.close()
