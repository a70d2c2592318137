"""Where a data directory's station is being served, for the CLI on the same machine.

``qfzz serve`` writes ``<data_dir>/server.json`` (its URL, pid and the pid's start time)
once it listens, and removes it when it stops. The CLI reads it so that a command which
changes what the station serves (a scan, an import, a new listener…) goes through the
server instead of writing under it, where the server would never see it.

``<data_dir>/operator.token`` (mode 0600, made once) signs those commands in as the
station's operator, an admin. Whoever can read it can read the database and the server
key beside it, so it grants nothing they do not have already; the server keeps only its
digest and compares digests in constant time.

This module is light on purpose (the standard library only): a CLI command that talks to
a running server should not pay for importing the station.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "OPERATOR",
    "OPERATOR_TOKEN_FILE",
    "SERVER_FILE",
    "ServedAt",
    "announce",
    "connect_url",
    "operator_digest",
    "operator_matches",
    "operator_token",
    "served_at",
    "withdraw",
]

SERVER_FILE = "server.json"
OPERATOR_TOKEN_FILE = "operator.token"
#: The operator's principal: parentheses are not allowed in user ids, so no listener is it.
OPERATOR = "(operator)"
#: ``server.json`` is a few hundred bytes; anything longer is not ours.
_MAX_SERVER_FILE = 4096


@dataclass(frozen=True, slots=True)
class ServedAt:
    """A server that says it serves this data directory: where, and which process."""

    url: str
    pid: int
    #: The process's start time (clock ticks since boot, /proc's field 22): a pid the
    #: system gave to another process since is told apart by it. None where unknown.
    started: int | None = None


def connect_url(host: str, port: int) -> str:
    """The URL a client on this machine reaches a server listening on ``host:port`` at
    (a wildcard address is reached on loopback)."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def announce(data_dir: Path, url: str) -> ServedAt:
    """Say that this process serves ``data_dir`` at ``url`` (replacing a stale word)."""
    fields = _proc_stat(os.getpid())
    served = ServedAt(url, os.getpid(), None if fields is None else int(fields[_STARTED]))
    text = json.dumps({"url": served.url, "pid": served.pid, "started": served.started})
    data_dir.mkdir(parents=True, exist_ok=True)
    _write_private(data_dir / SERVER_FILE, text, replace=True)
    return served


def withdraw(data_dir: Path) -> None:
    """Take back this process's word (only its own: a later server's stays)."""
    path = data_dir / SERVER_FILE
    found = _read(path)
    if found is not None and found.pid == os.getpid():
        path.unlink(missing_ok=True)


def served_at(data_dir: Path) -> ServedAt | None:
    """The server serving ``data_dir`` now; None when none says so, or the one that did
    is gone (killed with SIGKILL, say, it could not take its word back)."""
    found = _read(data_dir / SERVER_FILE)
    if found is None or not _alive(found):
        return None
    return found


def operator_token(data_dir: Path, *, create: bool) -> str | None:
    """The operator token of ``data_dir``, made (0600) if ``create`` and there is none."""
    path = data_dir / OPERATOR_TOKEN_FILE
    try:
        return path.read_text(encoding="ascii").strip() or None
    except FileNotFoundError:
        if not create:
            return None
    data_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):  # another process made it first: theirs
        _write_private(path, secrets.token_urlsafe(32), replace=False)
    return path.read_text(encoding="ascii").strip() or None


def operator_digest(data_dir: Path) -> bytes:
    """What a server keeps of ``data_dir``'s operator token (made if there is none)."""
    token = operator_token(data_dir, create=True)
    if token is None:
        raise OSError(f"{data_dir / OPERATOR_TOKEN_FILE} is empty: remove it and start again")
    return hashlib.sha256(token.encode()).digest()


def operator_matches(token: str, digest: bytes) -> bool:
    """Whether ``token`` is the operator's, by its sha256 ``digest`` (constant time)."""
    return hmac.compare_digest(hashlib.sha256(token.encode()).digest(), digest)


def _write_private(path: Path, text: str, *, replace: bool) -> None:
    """Write ``text`` to ``path`` whole or not at all, readable by the owner only; with
    ``replace`` false, ``FileExistsError`` when ``path`` exists."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if replace:
            os.replace(temporary, path)
        else:
            os.link(temporary, path)  # atomic, and refused if it exists
    finally:
        temporary.unlink(missing_ok=True)


def _read(path: Path) -> ServedAt | None:
    try:
        with path.open("rb") as source:
            raw = source.read(_MAX_SERVER_FILE + 1)
    except OSError:
        return None
    if len(raw) > _MAX_SERVER_FILE:
        return None
    try:
        value = json.loads(raw)
        url, pid, started = value["url"], value["pid"], value.get("started")
    except (ValueError, TypeError, KeyError):
        return None
    if not isinstance(url, str) or not isinstance(pid, int) or pid <= 0:
        return None
    return ServedAt(url, pid, started if isinstance(started, int) else None)


def _alive(served: ServedAt) -> bool:
    try:
        os.kill(served.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    fields = _proc_stat(served.pid)
    if fields is None:
        return True  # no /proc here: the pid exists, which is all that can be told
    if fields[_STATE] in ("Z", "X"):
        return False  # exited, not yet reaped
    return served.started is None or int(fields[_STARTED]) == served.started


#: Fields of /proc/<pid>/stat after the command name: its state (field 3 of proc(5))
#: and its start time in clock ticks since boot (field 22).
_STATE, _STARTED = 0, 19


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (which may hold spaces
    and parentheses, so it is cut at the last ``)``); None without /proc or the process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()
