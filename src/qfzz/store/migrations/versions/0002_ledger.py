"""Trust ledger blocks (append-only).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_blocks",
        sa.Column("height", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("timestamp_us", sa.BigInteger, nullable=False),
        sa.Column("through_interaction", sa.BigInteger, nullable=False),
        sa.Column("difficulty", sa.Integer, nullable=False),
        sa.Column("previous_hash", sa.String(64), nullable=False),
        sa.Column("nonce", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("changes", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ledger_blocks")
