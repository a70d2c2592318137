"""Passwords and tokens: only an argon2 hash and a token digest are ever stored."""

from __future__ import annotations

import hashlib
import re
import secrets

from argon2 import PasswordHasher

from qfzz.errors import InvalidInput

_USER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
_hasher = PasswordHasher()


def validate_user_id(user_id: str) -> str:
    if not isinstance(user_id, str) or not _USER_ID.match(user_id):
        raise InvalidInput(
            "user_id must be 1–64 characters: letters, digits, '_', '.', '@' or '-', "
            "starting with a letter or digit"
        )
    return user_id


def hash_password(password: str) -> str:
    if len(password) < 4:
        raise InvalidInput("password must be at least 4 characters")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except Exception:  # argon2 raises several mismatch types; all mean "no"
        return False


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """The key a token is stored under: a leaked table reveals no usable token."""
    return hashlib.sha256(token.encode()).hexdigest()
