"""What each viewer may do with an uploaded content: the content view and licences.

The rule (issue 16): without a licence, a media upload offers its ``preview`` and ``low``
derivatives to listen to, and a non-media upload (a booklet, an image) offers nothing; with
one, ``high`` and the ``original`` too, downloadable. A licence is granted by the content's
owner or an admin, or implied for everyone when the content's SPDX licence lets anyone
share copies (``qfzz.network.redistributable``: CC0, CC-BY…). The owner and admins hold
every right. While the derivatives are being made the view says ``processing`` and offers
what is ready; a failed conversion says why. Purchase options (TON, Telegram Stars) are
shown as data when the operator configured them: no payment rail is integrated.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from qfzz.errors import Forbidden, NotFound, UnknownListener
from qfzz.ingest import SealedFile
from qfzz.models import UploadedContent
from qfzz.network import redistributable
from qfzz.station._auth import Principal
from qfzz.store import Store

__all__ = ["ContentView", "Contents", "ViewOption"]

#: What each kind of right shows, in order.
LISTEN = ("preview", "low")
FULL = ("preview", "low", "high", "original")


@dataclass(frozen=True, slots=True)
class ViewOption:
    """One thing the viewer may have: a derivative or the original, by the hash of its
    stored bytes; ``downloadable`` only with a licence."""

    kind: str
    file_hash: str
    media_type: str
    size: int
    downloadable: bool


@dataclass(frozen=True, slots=True)
class ContentView:
    content_id: str
    status: str
    reason: str | None
    title: str
    artist: str
    license: str
    media: bool
    role: str  # anonymous | listener | licensed | owner | admin
    licensed: bool
    options: tuple[ViewOption, ...]
    purchase: tuple[Mapping[str, object], ...]


class Contents:
    """Views and licences of uploaded content (the store keeps the rows)."""

    def __init__(
        self,
        store: Store,
        *,
        data_dir: Path,
        clock: Callable[[], float],
        purchase_options: Sequence[Mapping[str, object]] = (),
    ) -> None:
        self._store = store
        self._data_dir = data_dir
        self._clock = clock
        self._purchase = tuple(purchase_options)

    def _get(self, content_id: str) -> UploadedContent:
        content = self._store.contents.get(content_id)
        if content is None:
            raise NotFound(f"no content {content_id}")
        return content

    def view(self, content_id: str, viewer: Principal | None) -> ContentView:
        """What ``viewer`` (None: anonymous) sees of the content."""
        content = self._get(content_id)
        role = self._role(content, viewer)
        licensed = role in ("licensed", "owner", "admin") or redistributable(content.license)
        kinds = FULL if licensed else (LISTEN if content.media else ())
        options = []
        for kind in kinds:
            if kind == "original" or content.media:
                derivative = content.derivative(kind)
                if derivative is not None:
                    options.append(
                        ViewOption(
                            kind,
                            derivative.file_hash,
                            derivative.media_type,
                            derivative.size,
                            downloadable=licensed,
                        )
                    )
        return ContentView(
            content_id=content.content_id,
            status=content.status.value,
            reason=content.reason,
            title=content.title,
            artist=content.artist,
            license=content.license,
            media=content.media,
            role=role,
            licensed=licensed,
            options=tuple(options),
            purchase=() if licensed else self._purchase,
        )

    def of_owner(self, owner: Principal, limit: int) -> list[ContentView]:
        """The viewer's own uploads as they see them, newest first (the upload page)."""
        owned = self._store.contents.owned_by(owner.user_id, limit)
        return [self.view(content.content_id, owner) for content in owned]

    def file(self, file_hash: str) -> tuple[Path, str] | None:
        """A stored file of some content by the blake3 of its bytes: a derivative, or the
        sealed original (the hash is the capability: views show it only to those allowed)."""
        found = self._store.contents.file(file_hash)
        return None if found is None else (self._data_dir / found[0], found[1])

    def original(self, content_id: str, viewer: Principal | None) -> tuple[SealedFile, str]:
        """The sealed original, opened for a viewer whose view allows it in full (decrypted
        range by range as it is read)."""
        view = self.view(content_id, viewer)
        if not view.licensed:
            raise Forbidden("the original needs a licence")
        content = self._get(content_id)
        sealed = self._data_dir / "content" / content_id
        key = sealed.with_name(f"{content_id}.key").read_bytes()
        return SealedFile(sealed, key), content.media_type

    def _role(self, content: UploadedContent, viewer: Principal | None) -> str:
        if viewer is None:
            return "anonymous"
        if viewer.is_admin:
            return "admin"
        if viewer.user_id == content.owner:
            return "owner"
        if self._store.contents.licensed(content.content_id, viewer.user_id):
            return "licensed"
        return "listener"

    def grant(self, content_id: str, user_id: str, by: Principal) -> bool:
        """``by`` (the owner or an admin) licenses ``user_id``; False if they held one."""
        content = self._get(content_id)
        if not by.is_admin and by.user_id != content.owner:
            raise Forbidden("only the content's owner or an admin grants licences")
        if self._store.listeners.get(user_id) is None:
            raise UnknownListener(f"no listener {user_id!r}")
        granted = self._store.contents.grant(
            content_id, user_id, granted_by=by.user_id, now=self._clock()
        )
        return granted
