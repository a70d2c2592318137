"""Initial schema: catalog, datasets, listeners, tokens, profiles, interactions, playlists.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("license_id", sa.String(64), nullable=False),
        sa.Column("quality_score", sa.Float, nullable=False),
        sa.Column("components", sa.JSON, nullable=False),
        sa.Column("track_count", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "tracks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("path", sa.Text, nullable=True, unique=True),
        sa.Column("size", sa.Integer, nullable=True),
        sa.Column("mtime", sa.Float, nullable=True),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("artist", sa.String(500), nullable=False),
        sa.Column("album", sa.String(500), nullable=True),
        sa.Column("genre", sa.String(200), nullable=True),
        sa.Column("year", sa.Integer, nullable=True),
        sa.Column("mood", sa.String(100), nullable=True),
        sa.Column("energy", sa.Float, nullable=True),
        sa.Column("tempo", sa.Float, nullable=True),
        sa.Column("duration", sa.Float, nullable=True),
        sa.Column("bitrate", sa.Integer, nullable=True),
        sa.Column("format", sa.String(16), nullable=True),
        sa.Column("musicbrainz_id", sa.String(64), nullable=True),
        sa.Column("content_id", sa.String(64), nullable=True),
        sa.Column("creator_id", sa.String(500), nullable=True),
        sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id"), nullable=True),
        sa.Column("playable", sa.Boolean, nullable=False),
        sa.Column("removed", sa.Boolean, nullable=False),
        sa.Column("added_at", sa.Float, nullable=False),
    )
    op.create_index("ix_tracks_artist", "tracks", ["artist"])
    op.create_index("ix_tracks_genre", "tracks", ["genre"])
    op.create_index("ix_tracks_content_id", "tracks", ["content_id"])
    op.create_table(
        "listeners",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("preferences", sa.JSON, nullable=False),
        sa.Column("discovery_factor", sa.Float, nullable=False),
        sa.Column("energy_level", sa.Float, nullable=False),
        sa.Column("tempo_preference", sa.String(16), nullable=False),
        sa.Column("profile_interactions", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "tokens",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(64), sa.ForeignKey("listeners.user_id"), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=True),
    )
    op.create_table(
        "profile_weights",
        sa.Column("user_id", sa.String(64), sa.ForeignKey("listeners.user_id"), primary_key=True),
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("key", sa.String(500), primary_key=True),
        sa.Column("weight", sa.Float, nullable=False),
    )
    op.create_table(
        "interactions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.String(64), sa.ForeignKey("listeners.user_id"), nullable=False),
        sa.Column("track_id", sa.Integer, sa.ForeignKey("tracks.id"), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("rating", sa.Float, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ix_interactions_user", "interactions", ["user_id", "id"])
    op.create_index("ix_interactions_track", "interactions", ["track_id"])
    op.create_table(
        "playlists",
        sa.Column("user_id", sa.String(64), sa.ForeignKey("listeners.user_id"), primary_key=True),
        sa.Column("generated_at", sa.Float, nullable=False),
        sa.Column("items", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    for table in ("playlists", "interactions", "profile_weights", "tokens", "listeners"):
        op.drop_table(table)
    op.drop_index("ix_tracks_content_id", "tracks")
    op.drop_index("ix_tracks_genre", "tracks")
    op.drop_index("ix_tracks_artist", "tracks")
    op.drop_table("tracks")
    op.drop_table("datasets")
