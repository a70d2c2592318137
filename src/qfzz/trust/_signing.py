"""The station's ledger key: Ed25519 (PyNaCl), derived from the station's secret key.

Every process of a station (the server, a CLI command beside it) derives the same key
from the same secret, so each can sign the ledger's records and all of them verify. The
public key is exported with the chain so anyone can check the records outside QFZZ.
"""

from __future__ import annotations

import hashlib

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

_DERIVATION = b"qfzz-ledger-signing-v1"


class LedgerVerifier:
    """Checks signatures against a public key (all an auditor needs)."""

    def __init__(self, public_key: bytes) -> None:
        self._key = VerifyKey(public_key)
        self.public_key_hex = public_key.hex()

    def verify(self, message: bytes, signature_hex: str) -> bool:
        try:
            signature = bytes.fromhex(signature_hex)
        except (TypeError, ValueError):
            return False
        if len(signature) != 64:
            return False
        try:
            self._key.verify(message, signature)
        except BadSignatureError:
            return False
        return True


class LedgerKey(LedgerVerifier):
    """Signs the ledger's records; its seed never leaves the process."""

    def __init__(self, seed: bytes) -> None:
        self._signing = SigningKey(seed)
        super().__init__(bytes(self._signing.verify_key))

    @classmethod
    def from_secret(cls, secret_key: bytes) -> LedgerKey:
        """seed = SHA-256(b"qfzz-ledger-signing-v1" + the station's 32-byte secret key)."""
        return cls(hashlib.sha256(_DERIVATION + secret_key).digest())

    def sign(self, message: bytes) -> str:
        return self._signing.sign(message).signature.hex()
