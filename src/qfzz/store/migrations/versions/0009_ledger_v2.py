"""Trust ledger v2: blocks commit to the interaction rows they cover; signed events.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_blocks") as batch:
        batch.add_column(sa.Column("log_hash", sa.String(64), nullable=False, server_default=""))
    op.create_table(
        "ledger_events",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("value", sa.String(128), nullable=False),
        sa.Column("recorded_at_us", sa.BigInteger, nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ledger_events")
    with op.batch_alter_table("ledger_blocks") as batch:
        batch.drop_column("log_hash")
