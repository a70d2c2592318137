"""Creators' uploads and the licences granted on them.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contents",
        sa.Column("content_id", sa.String(64), primary_key=True),
        sa.Column("upload_id", sa.String(64), nullable=False, unique=True),
        sa.Column("owner", sa.String(64), sa.ForeignKey("listeners.user_id"), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("artist", sa.Text, nullable=False),
        sa.Column("license", sa.String(64), nullable=False),
        sa.Column("media_type", sa.String(127), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("media", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("loudness", sa.Float, nullable=True),
        sa.Column("derivatives", sa.JSON, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ix_contents_owner", "contents", ["owner"])
    op.create_table(
        "content_files",
        sa.Column("file_hash", sa.String(64), primary_key=True),
        sa.Column(
            "content_id", sa.String(64), sa.ForeignKey("contents.content_id"), primary_key=True
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("media_type", sa.String(127), nullable=False),
    )
    op.create_table(
        "content_licenses",
        sa.Column(
            "content_id", sa.String(64), sa.ForeignKey("contents.content_id"), primary_key=True
        ),
        sa.Column("user_id", sa.String(64), sa.ForeignKey("listeners.user_id"), primary_key=True),
        sa.Column("granted_by", sa.String(64), nullable=False),
        sa.Column("granted_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("content_licenses")
    op.drop_table("content_files")
    op.drop_index("ix_contents_owner", table_name="contents")
    op.drop_table("contents")
