"""Bookmarks, public shares, and the play queue's current index.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("play_queues") as batch:
        batch.add_column(sa.Column("current_index", sa.Integer, nullable=True))
    op.create_table(
        "bookmarks",
        sa.Column("user_id", sa.String(64), sa.ForeignKey("listeners.user_id"), primary_key=True),
        sa.Column("track_id", sa.Integer, sa.ForeignKey("tracks.id"), primary_key=True),
        sa.Column("position_ms", sa.BigInteger, nullable=False),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("changed_at", sa.Float, nullable=False),
    )
    op.create_table(
        "shares",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(64), sa.ForeignKey("listeners.user_id"), nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("track_ids", sa.JSON, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=True),
        sa.Column("last_visited", sa.Float, nullable=True),
        sa.Column("visit_count", sa.Integer, nullable=False),
    )
    op.create_index("ix_shares_user", "shares", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_shares_user", table_name="shares")
    op.drop_table("shares")
    op.drop_table("bookmarks")
    with op.batch_alter_table("play_queues") as batch:
        batch.drop_column("current_index")
