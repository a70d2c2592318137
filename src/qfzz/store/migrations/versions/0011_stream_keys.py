"""Stream keys: one revocable key per listener for player URLs that last.

Only the key's SHA-256 digest is stored, under a unique index so a stream request finds
its listener in one indexed lookup. Deleting a listener deletes its key.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stream_keys",
        sa.Column(
            "user_id",
            sa.String(64),
            sa.ForeignKey("listeners.user_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ux_stream_keys_digest", "stream_keys", ["digest"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_stream_keys_digest", table_name="stream_keys")
    op.drop_table("stream_keys")
