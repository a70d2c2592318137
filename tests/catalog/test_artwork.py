"""Cover art read from real files of every format, and from the images beside them."""

from __future__ import annotations

import base64

import mutagen
import pytest
from mutagen.flac import Picture
from mutagen.id3 import APIC
from mutagen.mp4 import MP4Cover

from qfzz.catalog.artwork import Artwork, embedded_artwork, find_artwork, folder_artwork
from qfzz.testing import write_tone

JPEG = b"\xff\xd8\xff\xe0" + b"front cover" * 20
PNG = b"\x89PNG\r\n\x1a\n" + b"back cover" * 20


def _picture(data: bytes, mime: str, kind: int) -> Picture:
    picture = Picture()
    picture.type, picture.mime, picture.data = kind, mime, data
    return picture


def _embed(path, data: bytes, mime: str, kind: int = 3) -> None:
    audio = mutagen.File(path)
    if audio.tags is None:
        audio.add_tags()
    suffix = path.suffix
    if suffix == ".mp3":
        audio.tags.add(APIC(encoding=3, mime=mime, type=kind, desc=str(kind), data=data))
    elif suffix == ".flac":
        audio.add_picture(_picture(data, mime, kind))
    elif suffix in (".ogg", ".opus"):
        block = base64.b64encode(_picture(data, mime, kind).write()).decode()
        audio.tags["metadata_block_picture"] = [
            *audio.tags.get("metadata_block_picture", []),
            block,
        ]
    elif suffix == ".m4a":
        audio.tags["covr"] = [MP4Cover(data, imageformat=MP4Cover.FORMAT_JPEG)]
    audio.save()


@pytest.mark.parametrize("suffix", [".mp3", ".flac", ".ogg", ".opus", ".m4a"])
def test_the_picture_inside_any_format_is_found(tmp_path, suffix):
    path = tmp_path / f"tone{suffix}"
    write_tone(path, 330, 0.5, 0.2)
    assert embedded_artwork(path) is None
    _embed(path, JPEG, "image/jpeg")
    assert embedded_artwork(path) == Artwork(JPEG, "image/jpeg")


@pytest.mark.parametrize("suffix", [".mp3", ".flac", ".ogg"])
def test_the_front_cover_wins_over_other_pictures(tmp_path, suffix):
    path = tmp_path / f"tone{suffix}"
    write_tone(path, 330, 0.5, 0.2)
    _embed(path, PNG, "image/png", kind=4)  # back cover, stored first
    _embed(path, JPEG, "image/jpeg", kind=3)
    assert embedded_artwork(path) == Artwork(JPEG, "image/jpeg")


def test_folder_images_are_used_when_files_carry_none(tmp_path):
    path = tmp_path / "tone.mp3"
    write_tone(path, 330, 0.5, 0.2)
    assert find_artwork(path) is None
    (tmp_path / "Folder.PNG").write_bytes(PNG)
    assert find_artwork(path) == Artwork(PNG, "image/png")
    (tmp_path / "cover.jpg").write_bytes(JPEG)  # "cover" ranks before "folder"
    assert folder_artwork(tmp_path) == Artwork(JPEG, "image/jpeg")
    _embed(path, PNG, "image/png")
    assert find_artwork(path) == Artwork(PNG, "image/png")  # the file's own picture first


def test_unreadable_or_missing_files_have_no_art(tmp_path):
    bad = tmp_path / "bad.flac"
    bad.write_bytes(b"not audio")
    assert embedded_artwork(bad) is None
    assert embedded_artwork(tmp_path / "missing.mp3") is None
    assert folder_artwork(tmp_path / "no-such-folder") is None
