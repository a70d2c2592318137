"""The library's groups as tables, backfilled: albums, artists, genres, and per-listener
album plays and ratings.

Revision ID: 0016
Revises: 0015

The backfill runs ``qfzz.store._groups.rebuild`` on the tables as this revision creates
them; a later revision that changes these tables must carry its own copy of the backfill.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_tracks_group", "tracks", ["creator_id", "playable", "removed"])
    op.create_table(
        "albums",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("group_id", sa.String(16), nullable=False),
        sa.Column("artist_key", sa.String(500), nullable=False),
        sa.Column("album_key", sa.String(500), nullable=False),
        sa.Column("draw", sa.Float, nullable=False),
        sa.Column("artist", sa.String(500), nullable=False),
        sa.Column("name", sa.String(500), nullable=True),
        sa.Column("song_count", sa.Integer, nullable=False),
        sa.Column("duration", sa.Float, nullable=False),
        sa.Column("year", sa.Integer, nullable=True),
        sa.Column("genre", sa.String(200), nullable=True),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("newest", sa.Float, nullable=False),
        sa.Column("name_sort", sa.String(500), nullable=False),
        sa.Column("artist_sort", sa.String(500), nullable=False),
        sa.Column("genre_sort", sa.String(200), nullable=True),
    )
    op.create_index("ux_albums_group_id", "albums", ["group_id"], unique=True)
    op.create_index("ux_albums_key", "albums", ["artist_key", "album_key"], unique=True)
    op.create_index("ix_albums_by_name", "albums", ["name_sort", "artist_sort", "id"])
    op.create_index("ix_albums_by_artist", "albums", ["artist_sort", "name_sort", "id"])
    op.create_index("ix_albums_newest", "albums", ["newest", "name_sort", "artist_sort", "id"])
    op.create_index("ix_albums_by_year", "albums", ["year", "name_sort", "artist_sort", "id"])
    op.create_index(
        "ix_albums_by_genre", "albums", ["genre_sort", "name_sort", "artist_sort", "id"]
    )
    op.create_index("ix_albums_draw", "albums", ["draw"])
    op.create_table(
        "artists",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("group_id", sa.String(16), nullable=False),
        sa.Column("artist_key", sa.String(500), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("name_sort", sa.String(500), nullable=False),
        sa.Column("album_count", sa.Integer, nullable=False),
        sa.Column("song_count", sa.Integer, nullable=False),
    )
    op.create_index("ux_artists_group_id", "artists", ["group_id"], unique=True)
    op.create_index("ux_artists_key", "artists", ["artist_key"], unique=True)
    op.create_index("ix_artists_by_name", "artists", ["name_sort", "id"])
    op.create_table(
        "album_genres",
        sa.Column("artist_key", sa.String(500), primary_key=True),
        sa.Column("album_key", sa.String(500), primary_key=True),
        sa.Column("genre", sa.String(200), primary_key=True),
        sa.Column("song_count", sa.Integer, nullable=False),
    )
    op.create_index("ix_album_genres_genre", "album_genres", ["genre"])
    op.create_table(
        "genres",
        sa.Column("genre", sa.String(200), primary_key=True),
        sa.Column("song_count", sa.Integer, nullable=False),
        sa.Column("album_count", sa.Integer, nullable=False),
    )
    version = op.create_table(
        "library_version",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(version, [{"id": 1, "version": 0}])
    op.create_table(
        "album_plays",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("artist_key", sa.String(500), primary_key=True),
        sa.Column("album_key", sa.String(500), primary_key=True),
        sa.Column("plays", sa.Integer, nullable=False),
        sa.Column("last_played", sa.Float, nullable=False),
    )
    op.create_index(
        "ix_album_plays_plays", "album_plays", ["user_id", "plays", "artist_key", "album_key"]
    )
    op.create_index(
        "ix_album_plays_last", "album_plays", ["user_id", "last_played", "artist_key", "album_key"]
    )
    op.create_table(
        "album_ratings",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("artist_key", sa.String(500), primary_key=True),
        sa.Column("album_key", sa.String(500), primary_key=True),
        sa.Column("mean", sa.Float, nullable=False),
    )
    op.create_index(
        "ix_album_ratings_mean", "album_ratings", ["user_id", "mean", "artist_key", "album_key"]
    )

    from qfzz.store._groups import rebuild

    rebuild(op.get_bind())


def downgrade() -> None:
    for table in (
        "album_ratings",
        "album_plays",
        "library_version",
        "genres",
        "album_genres",
        "artists",
        "albums",
    ):
        op.drop_table(table)
    op.drop_index("ix_tracks_group", table_name="tracks")
