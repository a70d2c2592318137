"""Listeners, their login tokens and stream keys, learned profile weights and playlists."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, delete, or_, select
from sqlalchemy.exc import IntegrityError

from qfzz.errors import ListenerExists
from qfzz.models import user_key
from qfzz.store._database import Database
from qfzz.store._schema import listeners, playlists, profile_weights, stream_keys, tokens
from qfzz.store._upsert import upsert


@dataclass(frozen=True, slots=True)
class ListenerRecord:
    user_id: str
    preferences: dict[str, Any]
    discovery_factor: float
    energy_level: float
    tempo_preference: str
    created_at: float
    profile_interactions: int = 0
    role: str = "listener"


@dataclass(frozen=True, slots=True)
class StoredPlaylist:
    user_id: str
    generated_at: float
    items: list[dict[str, Any]]


class ListenerRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(
        self,
        record: ListenerRecord,
        *,
        password_hash: str | None,
        token_digest: str | None,
        weights: Mapping[str, Mapping[str, float]],
        token_expires_at: float | None = None,
    ) -> None:
        """Create a listener with its first token and initial weights, all or nothing.

        ``record.user_id`` must already be normalised (``qfzz.models.normalise_user_id``);
        its :func:`~qfzz.models.user_key` is stored with it, and the database refuses a
        second listener with the same key (another case or width of the same id).
        """
        try:
            with self._db.write() as conn:
                conn.execute(
                    listeners.insert().values(
                        user_id=record.user_id,
                        user_key=user_key(record.user_id),
                        password_hash=password_hash,
                        preferences=record.preferences,
                        discovery_factor=record.discovery_factor,
                        energy_level=record.energy_level,
                        tempo_preference=record.tempo_preference,
                        profile_interactions=0,
                        created_at=record.created_at,
                        role=record.role,
                    )
                )
                if token_digest:
                    conn.execute(
                        tokens.insert().values(
                            digest=token_digest,
                            user_id=record.user_id,
                            created_at=record.created_at,
                            expires_at=token_expires_at,
                            kind="session",
                        )
                    )
                rows = [
                    {"user_id": record.user_id, "kind": kind, "key": key, "weight": weight}
                    for kind, table in weights.items()
                    for key, weight in table.items()
                ]
                if rows:
                    conn.execute(profile_weights.insert(), rows)
        except IntegrityError as exc:
            raise ListenerExists(f"listener {record.user_id!r} already exists") from exc

    def get(self, user_id: str) -> ListenerRecord | None:
        with self._db.read() as conn:
            row = (
                conn.execute(select(listeners).where(listeners.c.user_id == user_id))
                .mappings()
                .first()
            )
        if row is None:
            return None
        return ListenerRecord(
            user_id=row["user_id"],
            preferences=dict(row["preferences"]),
            discovery_factor=row["discovery_factor"],
            energy_level=row["energy_level"],
            tempo_preference=row["tempo_preference"],
            created_at=row["created_at"],
            profile_interactions=row["profile_interactions"],
            role=row["role"],
        )

    def credentials(self, user_id: str) -> tuple[str, str | None] | None:
        """``(stored user_id, password hash)`` of the listener ``user_id`` names.

        The exact id first, else the one with its key (any case or width of it). Ids
        stored before keys existed may share a key; the exact spelling still finds each.
        """
        return self._named(user_id, listeners.c.password_hash)

    def subsonic_credentials(self, user_id: str) -> tuple[str, str | None] | None:
        """``(stored user_id, sealed app password)`` of the listener ``user_id`` names (as
        :meth:`credentials` finds them): what a Subsonic request's token is checked
        against, in one read."""
        return self._named(user_id, listeners.c.app_password)

    def _named(self, user_id: str, column: Column[Any]) -> tuple[str, str | None] | None:
        query = select(listeners.c.user_id, column).where(
            or_(listeners.c.user_id == user_id, listeners.c.user_key == user_key(user_id))
        )
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        if not rows:
            return None
        exact = [row for row in rows if row[0] == user_id]
        found = (exact or rows)[0]
        return found[0], found[1]

    def resolve(self, user_id: str) -> str | None:
        """The stored spelling of ``user_id`` (see :meth:`credentials`), or None."""
        found = self.credentials(user_id)
        return None if found is None else found[0]

    def user_ids(self) -> list[str]:
        with self._db.read() as conn:
            return list(conn.scalars(select(listeners.c.user_id).order_by(listeners.c.user_id)))

    def weights(self, user_id: str) -> dict[str, dict[str, float]]:
        with self._db.read() as conn:
            rows = conn.execute(
                select(
                    profile_weights.c.kind, profile_weights.c.key, profile_weights.c.weight
                ).where(profile_weights.c.user_id == user_id)
            ).all()
        result: dict[str, dict[str, float]] = {}
        for kind, key, weight in rows:
            result.setdefault(kind, {})[key] = weight
        return result

    def save_profile(
        self,
        user_id: str,
        weights: Mapping[str, Mapping[str, float]],
        energy_level: float,
        interactions: int,
        *,
        whole: bool = True,
    ) -> None:
        """Store a snapshot of the learned state that includes the first ``interactions``.

        ``whole``: ``weights`` is the whole profile and replaces the stored rows;
        otherwise it holds only rows changed since the last snapshot, which are upserted
        (the rest stay as stored).
        """
        rows = [
            {"user_id": user_id, "kind": kind, "key": key, "weight": weight}
            for kind, table in weights.items()
            for key, weight in table.items()
        ]
        with self._db.write() as conn:
            if whole:
                conn.execute(delete(profile_weights).where(profile_weights.c.user_id == user_id))
                if rows:
                    conn.execute(profile_weights.insert(), rows)
            else:
                upsert(
                    conn, profile_weights, rows, keys=("user_id", "kind", "key"), update=("weight",)
                )
            conn.execute(
                listeners.update()
                .where(listeners.c.user_id == user_id)
                .values(energy_level=energy_level, profile_interactions=interactions)
            )

    def user_for_token(self, digest: str, *, now: float | None = None) -> str | None:
        """The listener a live token (of any kind) belongs to."""
        query = select(tokens.c.user_id).where(tokens.c.digest == digest)
        if now is not None:
            query = query.where((tokens.c.expires_at.is_(None)) | (tokens.c.expires_at > now))
        with self._db.read() as conn:
            return conn.scalar(query)

    def token_session(self, digest: str, *, now: float) -> tuple[str, float | None] | None:
        """``(user_id, expires_at)`` of a live token."""
        query = select(tokens.c.user_id, tokens.c.expires_at).where(
            tokens.c.digest == digest,
            (tokens.c.expires_at.is_(None)) | (tokens.c.expires_at > now),
        )
        with self._db.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else (row[0], row[1])

    def add_token(
        self, user_id: str, digest: str, *, kind: str, now: float, expires_at: float | None
    ) -> None:
        with self._db.write() as conn:
            conn.execute(
                tokens.insert().values(
                    digest=digest,
                    user_id=user_id,
                    created_at=now,
                    expires_at=expires_at,
                    kind=kind,
                )
            )

    def token_digests(self, user_id: str, *, kind: str = "session") -> list[str]:
        with self._db.read() as conn:
            return list(
                conn.scalars(
                    select(tokens.c.digest).where(
                        tokens.c.user_id == user_id, tokens.c.kind == kind
                    )
                )
            )

    def delete_tokens(
        self, *, digest: str | None = None, user_id: str | None = None, kind: str | None = None
    ) -> int:
        conditions = []
        if digest is not None:
            conditions.append(tokens.c.digest == digest)
        if user_id is not None:
            conditions.append(tokens.c.user_id == user_id)
        if kind is not None:
            conditions.append(tokens.c.kind == kind)
        with self._db.write() as conn:
            return int(conn.execute(delete(tokens).where(*conditions)).rowcount or 0)

    # -- stream keys (only their digests) ---------------------------------------------------

    def set_stream_key(self, user_id: str, digest: str, *, now: float) -> None:
        """Make ``digest`` the listener's one stream key, replacing (revoking) any other."""
        with self._db.write() as conn:
            conn.execute(delete(stream_keys).where(stream_keys.c.user_id == user_id))
            conn.execute(
                stream_keys.insert().values(user_id=user_id, digest=digest, created_at=now)
            )

    def delete_stream_key(self, user_id: str) -> bool:
        """Revoke the listener's stream key; whether there was one."""
        with self._db.write() as conn:
            gone = conn.execute(delete(stream_keys).where(stream_keys.c.user_id == user_id))
            return bool(gone.rowcount)

    def stream_key_created(self, user_id: str) -> float | None:
        """When the listener's stream key was made, or None when they have none."""
        with self._db.read() as conn:
            return conn.scalar(
                select(stream_keys.c.created_at).where(stream_keys.c.user_id == user_id)
            )

    def stream_key_owner(self, digest: str) -> tuple[str, str] | None:
        """``(user_id, stored digest)`` of the key with ``digest`` (one unique-index lookup)."""
        query = select(stream_keys.c.user_id, stream_keys.c.digest).where(
            stream_keys.c.digest == digest
        )
        with self._db.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else (row[0], row[1])

    def password_hash(self, user_id: str) -> str | None:
        with self._db.read() as conn:
            return conn.scalar(
                select(listeners.c.password_hash).where(listeners.c.user_id == user_id)
            )

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        with self._db.write() as conn:
            conn.execute(
                listeners.update()
                .where(listeners.c.user_id == user_id)
                .values(password_hash=password_hash)
            )

    def set_role(self, user_id: str, role: str) -> None:
        with self._db.write() as conn:
            conn.execute(listeners.update().where(listeners.c.user_id == user_id).values(role=role))

    def admins(self) -> list[str]:
        with self._db.read() as conn:
            return list(
                conn.scalars(select(listeners.c.user_id).where(listeners.c.role == "admin"))
            )

    def app_password(self, user_id: str) -> str | None:
        with self._db.read() as conn:
            return conn.scalar(
                select(listeners.c.app_password).where(listeners.c.user_id == user_id)
            )

    def set_app_password(self, user_id: str, encrypted: str) -> None:
        with self._db.write() as conn:
            conn.execute(
                listeners.update()
                .where(listeners.c.user_id == user_id)
                .values(app_password=encrypted)
            )

    def set_app_password_if_absent(self, user_id: str, encrypted: str) -> str | None:
        """Stores ``encrypted`` only if the listener has no app password yet (one atomic
        UPDATE), and returns whichever is stored now: of two first uses at once, both
        answer the same password."""
        with self._db.write() as conn:
            conn.execute(
                listeners.update()
                .where(listeners.c.user_id == user_id, listeners.c.app_password.is_(None))
                .values(app_password=encrypted)
            )
            stored: str | None = conn.scalar(
                select(listeners.c.app_password).where(listeners.c.user_id == user_id)
            )
            return stored

    def save_playlist(self, playlist: StoredPlaylist) -> None:
        with self._db.write() as conn:
            upsert(
                conn,
                playlists,
                [
                    {
                        "user_id": playlist.user_id,
                        "generated_at": playlist.generated_at,
                        "items": playlist.items,
                    }
                ],
                keys=["user_id"],
                update=["generated_at", "items"],
            )

    def playlist(self, user_id: str) -> StoredPlaylist | None:
        with self._db.read() as conn:
            row = (
                conn.execute(select(playlists).where(playlists.c.user_id == user_id))
                .mappings()
                .first()
            )
        if row is None:
            return None
        return StoredPlaylist(row["user_id"], row["generated_at"], list(row["items"]))
