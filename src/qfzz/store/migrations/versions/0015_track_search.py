"""Full-text search over the tracks' title, artist and album (see ``qfzz.store._search``).

SQLite: an FTS5 trigram table ``track_search`` with a folded copy of the three fields, filled
from the existing tracks and kept by triggers on ``tracks``. (A later migration that rebuilds
``tracks`` with ``batch_alter_table`` drops these triggers with the old table and must
create them again; ``tests/store/test_search.py`` checks they exist at head.)

PostgreSQL: the extensions ``pg_trgm`` and ``unaccent`` (both trusted: a database owner may
create them), the immutable functions ``qfzz_fold`` and ``qfzz_search_text``, the stored
generated column ``tracks.search_text`` (``qfzz_search_text(title, artist, album)``) and a
GIN trigram index on it, built from the existing rows.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from alembic import op

from qfzz.store._search import register_sqlite_functions

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_FOLDED = "qfzz_index_text(new.title), qfzz_index_text(new.artist), qfzz_index_text(new.album)"

_SQLITE = [
    "CREATE VIRTUAL TABLE track_search USING fts5(title, artist, album, tokenize='trigram')",
    "INSERT INTO track_search(rowid, title, artist, album) SELECT id, qfzz_index_text(title),"
    " qfzz_index_text(artist), qfzz_index_text(album) FROM tracks",
    "CREATE TRIGGER track_search_insert AFTER INSERT ON tracks BEGIN"
    f" INSERT INTO track_search(rowid, title, artist, album) VALUES (new.id, {_FOLDED}); END",
    "CREATE TRIGGER track_search_update AFTER UPDATE OF id, title, artist, album ON tracks"
    " WHEN old.id IS NOT new.id OR old.title IS NOT new.title"
    " OR old.artist IS NOT new.artist OR old.album IS NOT new.album BEGIN"
    " DELETE FROM track_search WHERE rowid = old.id;"
    f" INSERT INTO track_search(rowid, title, artist, album) VALUES (new.id, {_FOLDED}); END",
    "CREATE TRIGGER track_search_delete AFTER DELETE ON tracks BEGIN"
    " DELETE FROM track_search WHERE rowid = old.id; END",
]


def _postgres(schema: str, trgm: str, unaccent: str) -> list[str]:
    # Schema-qualified throughout: an index expression is evaluated with whatever
    # search_path the session (autovacuum, a restore) has.
    return [
        f'CREATE FUNCTION "{schema}".qfzz_fold(value text) RETURNS text'
        " LANGUAGE sql IMMUTABLE PARALLEL SAFE AS"
        f' $$ SELECT lower("{unaccent}".unaccent(\'"{unaccent}".unaccent\'::regdictionary,'
        " coalesce(value, ''))) $$",
        f'CREATE FUNCTION "{schema}".qfzz_search_text(title text, artist text, album text)'
        " RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS"
        f" $$ SELECT ' ' || regexp_replace(\"{schema}\".qfzz_fold("
        "coalesce(title, '') || ' ' || coalesce(artist, '') || ' ' || coalesce(album, '')),"
        " '\\s+', ' ', 'g') $$",
        # stored, so a candidate's recheck reads the folded text instead of running
        # unaccent again (which made frequent words cost seconds at 1M tracks)
        "ALTER TABLE tracks ADD COLUMN search_text text GENERATED ALWAYS AS"
        f' ("{schema}".qfzz_search_text(title, artist, album)) STORED',
        f'CREATE INDEX ix_tracks_search ON tracks USING gin (search_text "{trgm}".gin_trgm_ops)',
    ]


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # The alembic CLI's own connection has no qfzz_index_text yet (the store's have).
        register_sqlite_functions(bind.connection.driver_connection)
        for statement in _SQLITE:
            op.execute(statement)
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    schema = bind.exec_driver_sql("SELECT current_schema()").scalar_one()
    found: dict[str, str] = dict(
        bind.exec_driver_sql(
            "SELECT e.extname, n.nspname FROM pg_extension e"
            " JOIN pg_namespace n ON n.oid = e.extnamespace"
            " WHERE e.extname IN ('pg_trgm', 'unaccent')"
        ).all()
    )
    for statement in _postgres(schema, found["pg_trgm"], found["unaccent"]):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER track_search_{trigger}")
        op.execute("DROP TABLE track_search")
        return
    op.execute("DROP INDEX ix_tracks_search")
    op.execute("ALTER TABLE tracks DROP COLUMN search_text")
    op.execute("DROP FUNCTION qfzz_search_text(text, text, text)")
    op.execute("DROP FUNCTION qfzz_fold(text)")
