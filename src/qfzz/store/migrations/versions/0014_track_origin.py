"""Where a dataset track came from (its origin platform and its id there), for the resolver.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tracks") as batch:
        batch.add_column(sa.Column("origin", sa.String(64), nullable=True))
        batch.add_column(sa.Column("origin_ref", sa.String(512), nullable=True))
    op.create_index("ix_tracks_unresolved", "tracks", ["playable", "origin"])


def downgrade() -> None:
    op.drop_index("ix_tracks_unresolved", table_name="tracks")
    with op.batch_alter_table("tracks") as batch:
        batch.drop_column("origin_ref")
        batch.drop_column("origin")
