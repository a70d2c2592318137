"""Passwords, tokens and user ids: only an argon2 hash and a token digest are ever stored."""

from __future__ import annotations

import functools
import hashlib
import secrets

from argon2 import PasswordHasher

from qfzz.errors import InvalidInput
from qfzz.models import normalise_user_id

_hasher = PasswordHasher()


def validate_user_id(user_id: str) -> str:
    """The normalised id (see ``qfzz.models.normalise_user_id``), or ``InvalidInput``."""
    try:
        return normalise_user_id(user_id)
    except ValueError as exc:
        raise InvalidInput(f"user_id: {exc}") from None


def hash_password(password: str) -> str:
    if len(password) < 4:
        raise InvalidInput("password must be at least 4 characters")
    return _hasher.hash(password)


@functools.cache
def _stand_in_hash() -> str:
    """A hash of a random password, made once with the same hasher and parameters."""
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
    try:
        return _hasher.verify(password_hash, password)
    except Exception:  # argon2 raises several mismatch types; all mean "no"
        return False


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """The key a token is stored under: a leaked table reveals no usable token."""
    return hashlib.sha256(token.encode()).hexdigest()
