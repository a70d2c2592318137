"""Passwords, tokens and user ids: only an argon2 hash and a token digest are ever stored."""

from __future__ import annotations

import functools
import hashlib
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from argon2 import PasswordHasher

from qfzz.errors import InvalidInput, RateLimited
from qfzz.models import normalise_user_id

_hasher = PasswordHasher()


class Argon2Gate:
    """At most ``at_once`` argon2 computations in the process, ``waiting`` more queued.

    One argon2 hash or check takes 64 MiB and about 0.1 s of a core (argon2-cffi's
    RFC 9106 defaults). Per-address limits stop one client; sign-ins from many addresses
    at once would otherwise take 64 MiB each — six wrong logins at once raised a server's
    peak memory by 400 MB. Past the queue a sign-in is refused at once (``RateLimited``,
    retry in a second) instead of tying up a worker thread; a queued one waits at most
    ``wait`` seconds for its turn.
    """

    def __init__(self, at_once: int = 1, waiting: int = 4, wait: float = 1.0) -> None:
        if at_once < 1 or waiting < 0:
            raise ValueError("at_once must be at least 1 and waiting at least 0")
        self._running = threading.BoundedSemaphore(at_once)
        self._admitted = threading.BoundedSemaphore(at_once + waiting)
        self._wait = wait

    @contextmanager
    def turn(self) -> Iterator[None]:
        if not self._admitted.acquire(blocking=False):
            raise RateLimited("too many passwords are being checked; retry in 1 s", 1)
        try:
            if not self._running.acquire(timeout=self._wait):
                raise RateLimited("too many passwords are being checked; retry in 1 s", 1)
            try:
                yield
            finally:
                self._running.release()
        finally:
            self._admitted.release()


#: The process's gate: memory is per process, so is the bound.
ARGON2 = Argon2Gate()


def validate_user_id(user_id: str) -> str:
    """The normalised id (see ``qfzz.models.normalise_user_id``), or ``InvalidInput``."""
    try:
        return normalise_user_id(user_id)
    except ValueError as exc:
        raise InvalidInput(f"user_id: {exc}") from None


def hash_password(password: str) -> str:
    if len(password) < 4:
        raise InvalidInput("password must be at least 4 characters")
    with ARGON2.turn():
        return _hasher.hash(password)


@functools.cache
def _stand_in_hash() -> str:
    """A hash of a random password, made once with the same hasher and parameters."""
    with ARGON2.turn():
        return _hasher.hash(secrets.token_urlsafe(16))


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; one argon2 verification whatever the case.

    With no hash (an unknown user id, or a listener without a password) the password is
    verified against a stand-in hash and the answer is no: a login then takes as long as
    one with a wrong password, and its timing does not tell which user ids exist.
    """
    if password_hash is None:
        _check(_stand_in_hash(), password)
        return False
    return _check(password_hash, password)


def _check(password_hash: str, password: str) -> bool:
    with ARGON2.turn():
        try:
            return _hasher.verify(password_hash, password)
        except Exception:  # argon2 raises several mismatch types; all mean "no"
            return False


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """The key a token is stored under: a leaked table reveals no usable token."""
    return hashlib.sha256(token.encode()).hexdigest()
