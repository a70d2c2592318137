"""Accounts and access: logins, bearer tokens, signed stream URLs, Subsonic credentials.

Only digests of tokens and argon2 hashes of passwords are stored. The one secret that
must be readable — a listener's Subsonic *app password*, which token auth
(``t = md5(password + salt)``) needs in clear — is a separate random password, stored
encrypted with the server key (PyNaCl SecretBox), and never the login password.

A session is named by its token's digest. Stream tokens carry that digest under their
signature and are accepted only while the session lives, so logging out ends them too.
A *stream key* is the lasting alternative for players (radio apps keep a URL for months):
one random key per listener, stored as its digest, valid until regenerated or revoked.
User ids are normalised everywhere they come in (``qfzz.models.normalise_user_id``) and
found in any case or width (``ListenerRepository.credentials``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nacl.secret
import nacl.utils

from qfzz.cache import Session, SessionCache
from qfzz.errors import AuthError, Forbidden, InvalidInput, UnknownListener
from qfzz.serving import OPERATOR, operator_matches
from qfzz.station._accounts import (
    hash_password,
    new_token,
    token_digest,
    validate_user_id,
    verify_password,
)
from qfzz.store import ListenerRepository

log = logging.getLogger(__name__)

ADMIN = "admin"
_STREAM_TOKEN_MAX = 160  # "<expires>.<64 hex>.<32 hex>" is about 108 characters
STREAM_KEY_PREFIX = "sk_"
_STREAM_KEY_LENGTH = len(STREAM_KEY_PREFIX) + 43  # 32 random bytes, URL-safe base64
_URL_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: str
    role: str
    #: The session it signed in with (its token's digest); None for Subsonic passwords.
    session: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    def require(self, user_id: str) -> None:
        """Only the listener themself (or an admin) may touch a listener's things."""
        if self.user_id != user_id and not self.is_admin:
            raise Forbidden(f"{self.user_id} may not act for {user_id}")

    def require_admin(self) -> None:
        if not self.is_admin:
            raise Forbidden("this needs the admin role")


def load_secret_key(data_dir: Path, configured: str | None) -> bytes:
    """The server key: from settings, else a file made once with mode 0600."""
    if configured:
        return hashlib.sha256(configured.encode()).digest()
    path = data_dir / "secret.key"
    if path.exists():
        return base64.b64decode(path.read_text().strip())
    data_dir.mkdir(parents=True, exist_ok=True)
    key = nacl.utils.random(nacl.secret.SecretBox.KEY_SIZE)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(base64.b64encode(key).decode())
    return key


class Accounts:
    def __init__(
        self,
        listeners: ListenerRepository,
        *,
        secret_key: bytes,
        clock: Callable[[], float],
        token_ttl: float,
        stream_token_ttl: float,
        sessions: SessionCache | None = None,
        operator_digest: bytes | None = None,
    ) -> None:
        self._listeners = listeners
        #: sha256 of the operator token (``qfzz.serving``): the CLI on this machine.
        self._operator_digest = operator_digest
        self._box = nacl.secret.SecretBox(secret_key)
        self._signing_key = hashlib.sha256(b"qfzz-stream-token" + secret_key).digest()
        self._clock = clock
        self.token_ttl = token_ttl
        self.stream_token_ttl = stream_token_ttl
        self._sessions = sessions
        self._roles: dict[str, str] = {}

    # -- sessions -----------------------------------------------------------------------

    def issue_token(self, user_id: str) -> str:
        token = new_token()
        now = self._clock()
        self._listeners.add_token(
            user_id, token_digest(token), kind="session", now=now, expires_at=now + self.token_ttl
        )
        return token

    def login(self, user_id: str, password: str) -> str:
        """A new session token; the id may be spelled in any case or width.

        Exactly one argon2 verification, whether or not the id exists or has a password,
        so the answer's timing does not reveal which ids exist.
        """
        try:
            found = self._listeners.credentials(validate_user_id(user_id))
        except InvalidInput:
            found = None
        stored_hash = None if found is None else found[1]
        if not verify_password(stored_hash, password) or found is None:
            raise AuthError("wrong user id or password")
        return self.issue_token(found[0])

    def resolve(self, user_id: str) -> str | None:
        """The stored spelling of a listener's id (any case or width of it), or None."""
        return self._listeners.resolve(validate_user_id(user_id))

    def logout(self, token: str) -> None:
        """End the token's session, and with it every stream token issued from it."""
        digest = token_digest(token)
        self._listeners.delete_tokens(digest=digest)
        if self._sessions is not None:
            self._sessions.revoke(digest)

    def revoke_sessions(self, user_id: str) -> int:
        """End every session of a listener (and their stream tokens); returns how many."""
        digests = self._listeners.token_digests(user_id, kind="session")
        self._listeners.delete_tokens(user_id=user_id, kind="session")
        if self._sessions is not None:
            for digest in digests:
                self._sessions.revoke(digest)
        return len(digests)

    def authenticate(self, token: str) -> Principal:
        """The listener behind a bearer token: the session cache, else the store; the
        operator's token (what the CLI sends a running server) is an admin of no account."""
        if self._operator_digest is not None and operator_matches(token, self._operator_digest):
            return Principal(OPERATOR, ADMIN)
        digest = token_digest(token)
        session = self._session(digest)
        if session is None:
            raise AuthError("unknown or expired token")
        return self._principal(session.user_id, digest)

    def _session(self, digest: str) -> Session | None:
        if self._sessions is not None:
            return self._sessions.get(digest, lambda: self._load_session(digest))
        return self._load_session(digest)

    def _load_session(self, digest: str) -> Session | None:
        found = self._listeners.token_session(digest, now=self._clock())
        return None if found is None else Session(found[0], found[1])

    def _principal(self, user_id: str, session: str | None = None) -> Principal:
        role = self._roles.get(user_id)
        if role is None:
            record = self._listeners.get(user_id)
            if record is None:
                raise AuthError("the token's listener no longer exists")
            role = self._roles[user_id] = record.role
        return Principal(user_id, role, session)

    # -- signed stream URLs ---------------------------------------------------------------

    def stream_token(self, principal: Principal) -> str:
        """A short-lived ``?token=`` for players that cannot send an Authorization header.

        ``<expires>.<session>.<signature>``: bound to the session the principal signed in
        with, and accepted only while that session lives (see :meth:`verify_stream_token`).
        """
        if principal.session is None:
            raise AuthError("stream tokens are issued to a signed-in session")
        body = f"{int(self._clock() + self.stream_token_ttl)}.{principal.session}"
        return f"{body}.{self._sign(body)}"

    def verify_stream_token(self, token: str) -> Principal:
        """The listener of a stream token: signed by us, unexpired, its session still live.

        One HMAC and one session lookup (the session cache, which a logout revokes).
        """
        if len(token) > _STREAM_TOKEN_MAX or not token.isascii():
            raise AuthError("invalid stream token")
        body, _, signature = token.rpartition(".")
        expires, _, session = body.partition(".")
        if not session or not hmac.compare_digest(signature, self._sign(body)):
            raise AuthError("invalid stream token")
        if not expires.isdigit() or int(expires) < self._clock():
            raise AuthError("expired stream token")
        found = self._session(session)
        if found is None:
            raise AuthError("the stream token's session has ended (signed out or expired)")
        return self._principal(found.user_id, session)

    def _sign(self, body: str) -> str:
        return hmac.new(self._signing_key, body.encode(), "sha256").hexdigest()[:32]

    # -- stream keys ----------------------------------------------------------------------

    def create_stream_key(self, user_id: str) -> str:
        """A new stream key for the listener; any earlier one stops working at once.

        ``sk_`` and 32 random bytes. Only its SHA-256 digest is stored: the key is shown
        this once, and a leaked table holds no usable key.
        """
        if self._listeners.get(user_id) is None:
            raise UnknownListener(f"no listener {user_id!r}")
        key = STREAM_KEY_PREFIX + secrets.token_urlsafe(32)
        self._listeners.set_stream_key(user_id, token_digest(key), now=self._clock())
        return key

    def revoke_stream_key(self, user_id: str) -> bool:
        """Revoke the listener's stream key; whether they had one."""
        return self._listeners.delete_stream_key(user_id)

    def stream_key_info(self, user_id: str) -> float | None:
        """When the listener's stream key was made, or None when they have none."""
        return self._listeners.stream_key_created(user_id)

    def verify_stream_key(self, key: str) -> Principal:
        """The listener of a stream key: well formed, then found by digest.

        The shape is checked before any lookup (a malformed key costs no query); the
        stored digest is found through its unique index and compared in constant time.
        """
        if len(key) != _STREAM_KEY_LENGTH or not key.startswith(STREAM_KEY_PREFIX):
            raise AuthError(
                f"malformed stream key: expected {STREAM_KEY_PREFIX!r} and 43 characters"
            )
        if not _URL_SAFE.issuperset(key[len(STREAM_KEY_PREFIX) :]):
            raise AuthError("malformed stream key: only letters, digits, '-' and '_' may follow")
        digest = token_digest(key)
        found = self._listeners.stream_key_owner(digest)
        if found is None or not hmac.compare_digest(found[1], digest):
            raise AuthError("unknown or revoked stream key; make a new one to listen again")
        return self._principal(found[0])

    # -- admins ---------------------------------------------------------------------------

    def make_admin(self, user_id: str) -> None:
        if self._listeners.get(user_id) is None:
            raise UnknownListener(f"no listener {user_id!r}")
        self._listeners.set_role(user_id, ADMIN)
        self._roles.pop(user_id, None)

    def has_admin(self) -> bool:
        return bool(self._listeners.admins())

    def set_password(self, user_id: str, password: str) -> None:
        self._listeners.set_password_hash(user_id, hash_password(password))

    # -- Subsonic -------------------------------------------------------------------------

    def app_password(self, user_id: str) -> str:
        """The listener's Subsonic app password (made on first use, atomically: two first
        uses at once — the web page and an app — get the same one)."""
        return self._open_app_password(user_id, self._listeners.app_password(user_id))

    def _open_app_password(self, user_id: str, stored: str | None) -> str:
        """The sealed app password ``stored`` in clear; made first if there is none."""
        if stored is None:
            if self._listeners.get(user_id) is None:
                raise UnknownListener(f"no listener {user_id!r}")
            fresh = secrets.token_urlsafe(12)
            sealed = base64.b64encode(self._box.encrypt(fresh.encode())).decode()
            stored = self._listeners.set_app_password_if_absent(user_id, sealed)
            if stored is None:
                raise UnknownListener(f"no listener {user_id!r}")
        return self._box.decrypt(base64.b64decode(stored)).decode()

    def regenerate_app_password(self, user_id: str) -> str:
        if self._listeners.get(user_id) is None:
            raise UnknownListener(f"no listener {user_id!r}")
        password = secrets.token_urlsafe(12)
        sealed = base64.b64encode(self._box.encrypt(password.encode())).decode()
        self._listeners.set_app_password(user_id, sealed)
        return password

    def subsonic(
        self,
        user_id: str | None,
        *,
        password: str | None = None,
        token: str | None = None,
        salt: str | None = None,
        api_key: str | None = None,
    ) -> Principal:
        """Subsonic auth: ``p`` (plain or ``enc:`` hex), ``t`` + ``s``, or ``apiKey``."""
        if api_key is not None:
            return self.authenticate(api_key)
        if not user_id:
            raise InvalidInput("required parameter is missing: u")
        try:
            found = self._listeners.subsonic_credentials(validate_user_id(user_id))
        except InvalidInput:
            found = None
        if found is None:
            raise AuthError("wrong username or password")
        user_id = found[0]
        expected = self._open_app_password(user_id, found[1])
        if token is not None and salt is not None:
            digest = hashlib.md5((expected + salt).encode(), usedforsecurity=False).hexdigest()
            ok = hmac.compare_digest(digest.encode(), token.lower().encode(errors="replace"))
        elif password is not None:
            if password.startswith("enc:"):
                try:
                    password = bytes.fromhex(password[4:]).decode()
                except ValueError:
                    raise AuthError("wrong username or password") from None
            ok = hmac.compare_digest(password.encode(errors="replace"), expected.encode())
        else:
            raise InvalidInput("required parameter is missing: p, or t and s, or apiKey")
        if not ok:
            raise AuthError("wrong username or password")
        return self._principal(user_id)
