"""From a finished upload to content listeners can have.

``finished`` is the tus store's finish handler: it seals the file (a fresh key,
XChaCha20-Poly1305 in chunks, streamed: ``qfzz.ingest.seal_file``; ``ContentID`` = blake3
of the sealed blob), keeps the blob and its key
under ``data_dir/content``, records the content once per upload (``create_once`` on the
upload id: a finish that runs again after a crash stores nothing new) and, for media,
queues one conversion job. ``converted`` records what the conversion made (derivatives by
the blake3 of their bytes, loudness) or why it failed, and makes a converted song a catalog
track: its ``high`` file, copied into ``data_dir/uploaded-music`` and tagged with the
upload's title, artist and cover art (the picture inside the uploaded file: an encoded
``high`` starts without tags), is scanned like any library file — playable, in the DJ, in
Subsonic and on the stations. Once the outcome is recorded, the plaintext the converter
read (a hard link in its inbox) is deleted: from then on the upload exists only sealed and
as its derivatives. The worker thread runs the jobs.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import blake3
import mutagen
from mutagen.id3 import APIC, ID3

from qfzz.audio import write_atomically
from qfzz.catalog.artwork import FRONT_COVER, Artwork, embedded_artwork
from qfzz.ingest import (
    ConversionFailed,
    Converted,
    ConvertJobs,
    Outcome,
    Sealed,
    Upload,
    seal_file,
    sniff,
)
from qfzz.models import ContentStatus, Derivative, UploadedContent
from qfzz.station._catalog import Catalog
from qfzz.station._poller import Poller
from qfzz.store import Store

log = logging.getLogger("qfzz.uploads")

DEFAULT_LICENSE = "LicenseRef-All-Rights-Reserved"
POLL_SECONDS = 1.0
CONVERT_QUEUE = "convert"
_MEDIA_TYPES = {"mp3": "audio/mpeg", "opus": "audio/ogg", "flac": "audio/flac"}


class Uploads:
    """The finish handler, the conversion record and the conversion worker."""

    def __init__(
        self,
        store: Store,
        jobs: Callable[[Callable[[Outcome], None]], ConvertJobs],
        content_dir: Path,
        *,
        catalog: Catalog,
        music_dir: Path,
        clock: Callable[[], float],
    ) -> None:
        self._store = store
        self.jobs = jobs(self.converted)
        self._dir = content_dir
        self._root = content_dir.parent  # the data directory: stored paths are relative to it
        self._catalog = catalog
        self._music = music_dir
        self._clock = clock
        self._worker = Poller("qfzz-convert", self.run_pending, POLL_SECONDS)

    def finished(self, upload: Upload, data_path: Path) -> None:
        """Make the upload's content (once) and queue its conversion."""
        if self._store.contents.by_upload(upload.upload_id) is not None:
            return  # a finish run again after a crash: the content is made already
        sealed = self._seal(upload.upload_id, data_path)
        content_id = sealed.content_id
        with open(data_path, "rb") as head:
            media = sniff(head.read(16)) is None  # documents and images keep only their original
        meta = upload.metadata
        title, artist = _names(meta, data_path)
        content = UploadedContent(
            content_id=content_id,
            upload_id=upload.upload_id,
            owner=upload.owner,
            title=title,
            artist=artist,
            license=_license(meta.get("license")),
            media_type=_media_type(meta.get("filetype"), meta.get("filename")),
            size=sealed.size,
            media=media,
            status=ContentStatus.PROCESSING if media else ContentStatus.READY,
            created_at=self._clock(),
            derivatives=(
                Derivative(
                    "original",
                    content_id,
                    "application/octet-stream",
                    sealed.sealed_size,
                    path=f"{self._dir.name}/{content_id}",
                ),
            ),
        )
        stored, created = self._store.contents.create_once(content)
        if created and media:
            # the job names a plain file in the converter's inbox: a hard link, not a copy
            inbox = self.jobs.uploads / upload.upload_id
            inbox.parent.mkdir(parents=True, exist_ok=True)
            if not inbox.exists():
                os.link(data_path, inbox)
            self.jobs.submit(stored.content_id, upload.upload_id)
        log.info("upload %s is content %s", upload.upload_id, stored.content_id)

    def _seal(self, upload_id: str, data_path: Path) -> Sealed:
        """Seal the upload into ``content/<content id>`` (streamed: the file is never held in
        memory) with its key beside it, each written whole or not at all."""
        self._dir.mkdir(parents=True, exist_ok=True)
        temporary = self._dir / f".{upload_id}.{os.getpid()}.sealing"
        try:
            sealed = seal_file(data_path, temporary)
            write_atomically(self._dir / f"{sealed.content_id}.key", sealed.key, mode=0o600)
            os.replace(temporary, self._dir / sealed.content_id)
        finally:
            temporary.unlink(missing_ok=True)
        return sealed

    def converted(self, outcome: Outcome) -> None:
        """Record a conversion's result on its content."""
        content = self._store.contents.get(outcome.content_id)
        if content is None:
            log.warning("conversion of unknown content %s", outcome.content_id)
            return
        source = self.jobs.uploads / content.upload_id
        if isinstance(outcome, ConversionFailed):
            self._store.contents.set_status(
                content.content_id, ContentStatus.FAILED, reason=outcome.reason
            )
            source.unlink(missing_ok=True)  # the sealed blob is the upload now
            return
        made = tuple(_derivative(outcome, d.name, self._root) for d in outcome.derivatives)
        original = tuple(d for d in content.derivatives if d.kind == "original")
        self._store.contents.set_status(
            content.content_id,
            ContentStatus.READY,
            loudness=outcome.loudness_lufs,
            derivatives=made + original,
        )
        if outcome.derivative("high") is not None:
            self._catalogue(content, outcome.path("high"), source)
        source.unlink(missing_ok=True)  # the sealed blob is the upload now

    def _catalogue(self, content: UploadedContent, high: Path, source: Path) -> None:
        """The song joins the catalog: a tagged copy of its ``high`` file, scanned. (A
        rerun after a crash finds the copy made, and the source perhaps gone already.)"""
        self._music.mkdir(parents=True, exist_ok=True)
        target = self._music / f"{content.content_id}{high.suffix}"
        if not target.exists():
            temporary = target.with_name(f".part-{target.name}")  # keeps the suffix for mutagen
            shutil.copyfile(high, temporary)
            _tag(temporary, content, embedded_artwork(source) if source.exists() else None)
            os.replace(temporary, target)
        self._catalog.scan(self._music)

    # -- the worker -------------------------------------------------------------------------

    def run_pending(self) -> int:
        """Run every visible conversion job now (the worker's loop; tests call it)."""
        done = 0
        while self.jobs.run_once() is not None:
            done += 1
        return done

    def start(self) -> None:
        self._worker.start()

    def stop(self) -> None:
        self._worker.stop()


def _derivative(outcome: Converted, name: str, root: Path) -> Derivative:
    made = outcome.derivative(name)
    assert made is not None
    path = outcome.path(name)
    digest = blake3.blake3()
    with open(path, "rb") as data:
        for chunk in iter(lambda: data.read(1 << 20), b""):
            digest.update(chunk)
    media_type = _MEDIA_TYPES.get(made.codec) or _media_type(None, made.file)
    return Derivative(
        name,
        digest.hexdigest(),
        media_type,
        path.stat().st_size,
        codec=made.codec,
        bitrate=made.bitrate_kbps,
        duration=made.seconds,
        path=str(path.relative_to(root)),
    )


def _tag(path: Path, content: UploadedContent, artwork: Artwork | None) -> None:
    """Title, artist and cover written into the file the catalog will read (best effort: a
    format mutagen cannot tag is catalogued by its file name, without a picture)."""
    try:
        audio = mutagen.File(path, easy=True)
        if audio is None:
            return
        if audio.tags is None:
            audio.add_tags()
        audio["title"] = content.title
        audio["artist"] = content.artist
        audio.save()
        if artwork is not None and path.suffix == ".mp3":  # a kept original has its own
            id3: Any = ID3  # mutagen is untyped
            picture: Any = APIC
            tags = id3(path)
            tags.add(picture(encoding=3, mime=artwork.mime, type=FRONT_COVER, desc="Cover",
                          data=artwork.data))  # fmt: skip
            tags.save(path)
    except Exception as exc:  # mutagen's errors have no common base worth naming
        log.warning("could not tag %s: %s", path, exc)


def _names(meta: dict[str, str], data_path: Path) -> tuple[str, str]:
    """Title and artist from the upload's metadata, else its tags, else its file name."""
    title, artist = meta.get("title"), meta.get("artist")
    if not (title and artist):
        try:
            tags = mutagen.File(data_path, easy=True)
        except Exception:  # mutagen raises many kinds on files that are not tagged audio
            tags = None
        if tags is not None and tags.tags is not None:
            title = title or next(iter(tags.tags.get("title", [])), None)
            artist = artist or next(iter(tags.tags.get("artist", [])), None)
    filename = meta.get("filename") or "upload"
    return (title or Path(filename).stem)[:512], (artist or "Unknown artist")[:512]


def _license(value: str | None) -> str:
    if value and len(value) <= 64 and all(c.isalnum() or c in ".+-" for c in value):
        return value
    return DEFAULT_LICENSE


def _media_type(filetype: str | None, filename: str | None) -> str:
    if filetype and "/" in filetype and len(filetype) <= 127 and filetype.isascii():
        return filetype.lower()
    guessed = mimetypes.guess_type(filename or "")[0]
    return guessed or "application/octet-stream"
