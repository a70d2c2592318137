"""The listening sockets a server binds itself, before any library work: one of its own
for ``qfzz serve``, and for ``--workers`` the supervisor's ``PortShare``, which each spawned
process turns into a socket of its own on the same port (see ``_workers``)."""

from __future__ import annotations

import socket
from typing import Any

from qfzz.errors import InvalidInput


def listening_socket(host: str, port: int, *, shared: bool = True) -> socket.socket:
    """A TCP socket bound to ``(host, port)``; ``shared``, other such sockets may bind it
    too (``SO_REUSEPORT``: each one that listens gets its share of the new connections)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if shared:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class PortShare(socket.socket):
    """The port's socket in the supervisor, which never listens on it: it holds the port
    and, handed to each process uvicorn spawns, arrives there as a new socket bound to the
    same address — so every process accepts from a queue of its own (see the module's
    docstring)."""

    def __reduce_ex__(self, protocol: object) -> tuple[Any, tuple[str, int]]:
        host, port = self.getsockname()[:2]
        return listening_socket, (host, port)

    @classmethod
    def bind_to(cls, host: str, port: int) -> PortShare:
        """The supervisor's socket for ``host:port`` (refused as ``require_free`` says)."""
        require_free(host, port)
        try:
            sock = listening_socket(host, port)
        except OSError as exc:
            raise InvalidInput(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
        return cls(sock.family, sock.type, fileno=sock.detach())


def bound_socket(host: str, port: int) -> socket.socket:
    """A socket of this process's own on ``host:port``, or ``InvalidInput`` saying why not
    (a port some process listens on already, an address not of this machine)."""
    try:
        return listening_socket(host, port, shared=False)
    except OSError as exc:
        raise InvalidInput(f"cannot listen on {host}:{port}: {exc.strerror}") from exc


def require_free(host: str, port: int) -> None:
    """Refuse a port some process listens on already — another station on the same port
    with ``--workers`` too, say, whose ``SO_REUSEPORT`` sockets would let these share it."""
    bound_socket(host, port).close()
