"""Shares: public, expiring links to songs that play in a browser without an account.

A share is made from songs the station has already resolved (an album or playlist is
fixed to its playable songs when the share is made), so the link keeps playing what was
shared even if the album changes. Its id is a random url-safe secret
(``secrets.token_urlsafe``): knowing the id is the permission to listen, so it is never
derived from anything guessable. Past its expiry a share answers ``ShareExpired``
everywhere the public can reach it; its owner still sees it in their list.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence

from qfzz.errors import InvalidInput, NotFound, UnknownItem
from qfzz.models import Share, Track
from qfzz.store import Store

__all__ = [
    "MAX_SHARES",
    "MAX_SHARE_DESCRIPTION",
    "MAX_SHARE_TRACKS",
    "ShareExpired",
    "Shares",
]

#: Longest description, most songs in one share, most shares one listener keeps.
MAX_SHARE_DESCRIPTION = 1000
MAX_SHARE_TRACKS = 1000
MAX_SHARES = 200
#: Bytes of randomness in a share id (``token_urlsafe`` makes 22 characters of it).
SHARE_ID_BYTES = 16
MAX_SHARE_ID = 64
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ShareExpired(NotFound):
    """The share existed but its time is over (HTTP 410 on the public page)."""

    code = "share_expired"


class Shares:
    def __init__(self, store: Store, *, clock: Callable[[], float]) -> None:
        self._store = store
        self._clock = clock

    def create(
        self,
        user_id: str,
        tracks: Sequence[Track],
        *,
        description: str | None,
        expires_at: float | None,
    ) -> Share:
        """A new share of ``tracks`` (playable ones, already resolved by the caller)."""
        _check_description(description)
        if not tracks:
            raise InvalidInput("a share needs at least one playable song")
        if len(tracks) > MAX_SHARE_TRACKS:
            raise InvalidInput(f"a share holds at most {MAX_SHARE_TRACKS} songs")
        now = self._clock()
        self._check_expiry(expires_at, now)
        if len(self._store.shares.for_listener(user_id)) >= MAX_SHARES:
            raise InvalidInput(f"at most {MAX_SHARES} shares per listener; delete some first")
        share = Share(
            secrets.token_urlsafe(SHARE_ID_BYTES),
            user_id,
            description,
            list(dict.fromkeys(t.track_id for t in tracks)),
            now,
            expires_at,
            None,
            0,
        )
        self._store.shares.add(share)
        return share

    def of(self, user_id: str) -> list[Share]:
        return self._store.shares.for_listener(user_id)

    def own(self, user_id: str, share_id: str) -> Share:
        """The listener's own share (any other id, or someone else's, is unknown)."""
        found = self._find(share_id)
        if found is None or found.user_id != user_id:
            raise UnknownItem(f"no share with id {share_id!r}")
        return found

    def update(
        self,
        user_id: str,
        share_id: str,
        *,
        description: str | None = None,
        expires_at: float | None = None,
        never_expires: bool = False,
    ) -> None:
        self.own(user_id, share_id)
        _check_description(description)
        if expires_at is not None:
            self._check_expiry(expires_at, self._clock())
        self._store.shares.update(
            share_id, description=description, expires_at=expires_at, never_expires=never_expires
        )

    def delete(self, user_id: str, share_id: str) -> None:
        self.own(user_id, share_id)
        self._store.shares.delete(share_id)

    def public(self, share_id: str, *, visit: bool = False) -> Share:
        """The share for anyone who holds its id: unknown → ``UnknownItem``, past its
        expiry → ``ShareExpired``. ``visit`` counts a visit to its page."""
        found = self._find(share_id)
        if found is None:
            raise UnknownItem("no such share")
        now = self._clock()
        if found.expires_at is not None and found.expires_at <= now:
            raise ShareExpired("this share has expired")
        if visit:
            self._store.shares.visited(share_id, now=now)
        return found

    def _find(self, share_id: str) -> Share | None:
        if not share_id or len(share_id) > MAX_SHARE_ID:
            return None
        return self._store.shares.get(share_id)

    @staticmethod
    def _check_expiry(expires_at: float | None, now: float) -> None:
        if expires_at is not None and expires_at <= now:
            raise InvalidInput("expires is in the past; give a time in the future")


def check_text(name: str, value: str | None, limit: int) -> None:
    """Free text a listener stores: bounded, no control characters but tabs and breaks."""
    if value is None:
        return
    if len(value) > limit:
        raise InvalidInput(f"{name} is longer than {limit} characters")
    if _CONTROL.search(value):
        raise InvalidInput(f"{name} must not contain control characters")


def _check_description(description: str | None) -> None:
    check_text("description", description, MAX_SHARE_DESCRIPTION)
