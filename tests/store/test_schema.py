from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from qfzz.store import open_store
from qfzz.store._database import _MIGRATIONS, head_revision
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


def test_the_head_read_from_file_names_is_alembic_s_head():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_heads() == [head_revision()]


def test_a_database_behind_the_head_is_migrated_and_one_at_it_is_left_alone(sqlite_url):
    from alembic import command
    from alembic.config import Config

    opened = open_store(sqlite_url)
    assert opened.db.revision() == head_revision()
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with opened.db.engine.begin() as conn:  # as if the last migration had not run yet
        config.attributes["connection"] = conn
        command.downgrade(config, "-1")
    assert opened.db.revision() != head_revision()
    opened.close()
    again = open_store(sqlite_url)
    assert again.db.revision() == head_revision()
    with again.db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": _declared})
        assert compare_metadata(context, metadata) == []
    again.close()
