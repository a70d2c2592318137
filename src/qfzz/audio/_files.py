"""Opening library files: regular files only, and never a blocking open.

A music folder may hold anything a file system can. A FIFO named ``x.mp3`` blocks the
first reader that opens it until a writer comes along (forever, usually); a device may
block or do something on open. So every library file QFZZ reads (tags, content ids,
cover art, audio at play time) is opened here: with ``O_NONBLOCK``, which makes opening a
FIFO return at once (it changes nothing for a regular file), and then checked with
``fstat`` on the *opened* descriptor, so a file swapped for a FIFO between a ``stat`` and
the open cannot block either. Anything but a regular file raises :class:`NotRegularFile`.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from qfzz.errors import UnreadableFile

_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a directory"),
)
_FLAGS = os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)


class NotRegularFile(UnreadableFile):
    """A FIFO, socket, device or directory where a file was expected (never read)."""

    code = "not_a_regular_file"

    def __init__(self, path: Path | str, kind: str) -> None:
        super().__init__(f"{path}: {kind}, not a regular file")
        self.path = str(path)
        self.kind = kind


def file_kind(mode: int) -> str:
    """What ``st_mode`` describes, for messages: ``"a FIFO"``, ``"a socket"``…"""
    for test, kind in _KINDS:
        if test(mode):
            return kind
    return "a regular file" if stat.S_ISREG(mode) else "a special file"


def open_regular(path: Path | str) -> BinaryIO:
    """Open ``path`` for reading if it is a regular file (symlinks to one are fine).

    Raises :class:`NotRegularFile` for anything else, ``OSError`` when it cannot be
    opened at all. The returned file reads in blocking mode, like any other.
    """
    handle = open(path, "rb", opener=_open_nonblocking)  # noqa: SIM115 (returned open)
    try:
        mode = os.fstat(handle.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(path, file_kind(mode))
        os.set_blocking(handle.fileno(), True)
    except BaseException:
        handle.close()
        raise
    return handle


def _open_nonblocking(path: str, flags: int) -> int:
    return os.open(path, flags | _FLAGS)
