"""Accounts: listener roles, encrypted Subsonic app passwords, token kinds.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("listeners") as batch:
        batch.add_column(
            sa.Column("role", sa.String(16), nullable=False, server_default="listener")
        )
        batch.add_column(sa.Column("app_password", sa.Text, nullable=True))
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="session"))


def downgrade() -> None:
    with op.batch_alter_table("tokens") as batch:
        batch.drop_column("kind")
    with op.batch_alter_table("listeners") as batch:
        batch.drop_column("app_password")
        batch.drop_column("role")
