"""A listener's album play counters and album ratings exist only for albums that do.

``store.library`` now cuts a listener's page of ``album_plays`` / ``album_ratings`` from
their own index and joins only that page to ``albums``, so a row whose album has no
playable track left would make a page short; ``store._groups`` no longer leaves such
rows (and counts them again when the album returns). This drops those already stored.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("album_plays", "album_ratings"):
        op.execute(
            f"DELETE FROM {table} WHERE NOT EXISTS (SELECT 1 FROM albums"
            f" WHERE albums.artist_key = {table}.artist_key"
            f" AND albums.album_key = {table}.album_key)"
        )


def downgrade() -> None:
    """Nothing to restore: the rows dropped were never shown."""
