"""The durable job queue.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.String(64), nullable=False, unique=True),
        sa.Column("queue", sa.String(100), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("visible_at", sa.Float, nullable=False),
        sa.Column("dead", sa.Boolean, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("enqueued_at", sa.Float, nullable=False),
    )
    op.create_index("ix_jobs_queue_visible", "jobs", ["queue", "dead", "visible_at"])


def downgrade() -> None:
    op.drop_index("ix_jobs_queue_visible", table_name="jobs")
    op.drop_table("jobs")
