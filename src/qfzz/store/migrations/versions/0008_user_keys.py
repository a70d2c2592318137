"""Listeners: a unique ``user_key`` so two spellings of one user id cannot both exist.

The key is the case- and width-folded id (``qfzz.models.user_key``). Existing listeners
get theirs in the order they registered: an id that normalises to itself takes its key if
no earlier listener holds it; any other (``admin\\n``, or ``alice`` after ``Alice``) keeps
its row with no key. The two functions are copied here as of this revision, so the
migration means the same whatever later code does.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _canonical(user_id: str) -> bool:
    text = unicodedata.normalize("NFC", user_id).strip()
    if text != user_id or not 1 <= len(text) <= 64:
        return False
    for position, char in enumerate(text):
        category = unicodedata.category(char)
        if category[0] == "L" or category == "Nd":
            continue
        if position and (category[0] == "M" or char in "_.@-"):
            continue
        return False
    return True


def _key(user_id: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKD", user_id).casefold())


def upgrade() -> None:
    with op.batch_alter_table("listeners") as batch:
        batch.add_column(sa.Column("user_key", sa.String(256), nullable=True))
    listeners = sa.table(
        "listeners",
        sa.column("user_id", sa.String),
        sa.column("created_at", sa.Float),
        sa.column("user_key", sa.String),
    )
    bind = op.get_bind()
    rows = (
        bind.execute(
            sa.select(listeners.c.user_id).order_by(listeners.c.created_at, listeners.c.user_id)
        )
        .scalars()
        .all()
    )
    taken: set[str] = set()
    updates = []
    for user_id in rows:
        key = _key(user_id)
        if _canonical(user_id) and key not in taken:
            taken.add(key)
            updates.append({"id": user_id, "key": key})
    if updates:
        bind.execute(
            listeners.update()
            .where(listeners.c.user_id == sa.bindparam("id"))
            .values(user_key=sa.bindparam("key")),
            updates,
        )
    op.create_index("ux_listeners_user_key", "listeners", ["user_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_listeners_user_key", table_name="listeners")
    with op.batch_alter_table("listeners") as batch:
        batch.drop_column("user_key")
