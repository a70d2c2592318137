"""Subsonic: favorites, ratings, user playlists and saved play queues.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "favorites",
        sa.Column("user_id", sa.String(64), sa.ForeignKey("listeners.user_id"), primary_key=True),
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("item_key", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "ratings",
        sa.Column("user_id", sa.String(64), sa.ForeignKey("listeners.user_id"), primary_key=True),
        sa.Column("track_id", sa.Integer, sa.ForeignKey("tracks.id"), primary_key=True),
        sa.Column("rating", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "user_playlists",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.String(64), sa.ForeignKey("listeners.user_id"), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("public", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("changed_at", sa.Float, nullable=False),
    )
    op.create_index("ix_user_playlists_user", "user_playlists", ["user_id"])
    op.create_table(
        "user_playlist_tracks",
        sa.Column("playlist_id", sa.Integer, sa.ForeignKey("user_playlists.id"), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("track_id", sa.Integer, sa.ForeignKey("tracks.id"), nullable=False),
    )
    op.create_table(
        "play_queues",
        sa.Column("user_id", sa.String(64), sa.ForeignKey("listeners.user_id"), primary_key=True),
        sa.Column("track_ids", sa.JSON, nullable=False),
        sa.Column("current", sa.Integer, nullable=True),
        sa.Column("position_ms", sa.BigInteger, nullable=False),
        sa.Column("changed_at", sa.Float, nullable=False),
        sa.Column("changed_by", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("play_queues")
    op.drop_table("user_playlist_tracks")
    op.drop_index("ix_user_playlists_user", table_name="user_playlists")
    op.drop_table("user_playlists")
    op.drop_table("ratings")
    op.drop_table("favorites")
