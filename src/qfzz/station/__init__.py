"""The station facade every frontend talks to."""

from qfzz.station._accounts import token_digest, verify_password
from qfzz.station._auth import ADMIN, Accounts, Principal
from qfzz.station._idempotency import Idempotency, Once, parse_key, request_key
from qfzz.station._library import AlbumOrder, Annotations, PlaybackState
from qfzz.station._station import DatasetImport, QFZZStation, Registration

__all__ = [
    "ADMIN",
    "Accounts",
    "AlbumOrder",
    "Annotations",
    "DatasetImport",
    "Idempotency",
    "Once",
    "PlaybackState",
    "Principal",
    "QFZZStation",
    "Registration",
    "parse_key",
    "request_key",
    "token_digest",
    "verify_password",
]
