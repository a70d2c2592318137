"""Idempotent requests: a retry gets the first answer instead of a second effect.

The contract is the IETF draft "The Idempotency-Key HTTP Header Field" as Stripe runs it.
A key belongs to its principal and route. The same key with the same request (the same
fingerprint: method, route, path parameters, canonical body) is answered with the first
answer, whatever became of that answer on the wire; with a different request it is
refused (:class:`IdempotencyKeyReused`, 422); while the first request with it is still
being answered here, also refused (:class:`IdempotencyKeyInFlight`, 409: retry later), so
nothing is ever done or learned twice. Only requests that stored something are
remembered: a request that failed stored nothing, and its retry does the work.

Exactly once: the repositories commit the key's record in the transaction of what it
protects (``qfzz.store.idempotency``), so a process that dies between that commit and the
answer still answers the retry from the record. This module owns the in-process part: the
keys in flight, the look-up before any work, and turning a race that only the database saw
(another process, :class:`KeyTaken`) into the first answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

from qfzz.errors import IdempotencyKeyInFlight, IdempotencyKeyReused, InvalidIdempotencyKey
from qfzz.models import IdempotencyKey
from qfzz.store import IdempotencyRepository, KeyTaken, StoredAnswer

T = TypeVar("T")

#: 1–255 visible ASCII characters (what the draft and Stripe allow, and what fits the table).
_KEY = re.compile(r"[\x21-\x7e]{1,255}")
_QUOTED = re.compile(r'"([\x21\x23-\x5b\x5d-\x7e]{1,255})"')  # an sf-string without escapes
MAX_ROUTE = 200


@dataclass(frozen=True, slots=True)
class Once(Generic[T]):
    """The answer to a keyed request; ``replayed`` when it is the stored first answer."""

    value: T
    replayed: bool = False


def parse_key(header: str) -> str:
    """The key of an ``Idempotency-Key`` header: 1–255 visible ASCII characters, bare (as
    Stripe's clients send it) or as a structured-field string (``"…"``, the draft's form)."""
    value = header.strip()
    if value.startswith('"'):  # then it must be a whole structured-field string
        quoted = _QUOTED.fullmatch(value)
        if quoted is not None:
            return quoted.group(1)
    elif _KEY.fullmatch(value):
        return value
    raise InvalidIdempotencyKey(
        "an Idempotency-Key is 1 to 255 visible ASCII characters, bare or in quotes"
    )


def request_key(
    principal: str,
    method: str,
    route: str,
    params: Mapping[str, object],
    body: object,
    header: str,
) -> IdempotencyKey:
    """The scoped key of a request, with its fingerprint.

    ``route`` is the path template (``/api/v1/listeners/{user_id}/interactions``), so the
    path parameters count in the fingerprint, not in the scope; ``body`` is the parsed
    body as JSON data, so a retry that only reorders fields or spacing still matches.
    """
    scope = f"{method.upper()} {route}"
    if len(scope) > MAX_ROUTE:
        raise ValueError(f"route too long for an idempotency scope: {scope[:80]}…")
    canonical = json.dumps(
        [scope, sorted(params.items()), body],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return IdempotencyKey(principal, scope, parse_key(header), digest)


class Idempotency:
    """Runs keyed requests at most once (see the module docstring)."""

    def __init__(self, records: IdempotencyRepository, clock: Callable[[], float]) -> None:
        self._records = records
        self._clock = clock
        self._flying: dict[tuple[str, str, str], str] = {}  # scope → fingerprint
        self._lock = threading.Lock()

    def run(
        self, key: IdempotencyKey, do: Callable[[], T], answered: Callable[[StoredAnswer], T]
    ) -> Once[T]:
        """``do()`` once per key; a repeat gets ``answered(first answer)``.

        ``do`` must store the key's record with its effect (raising :class:`KeyTaken` when
        the store finds the key taken); ``answered`` turns a stored answer into a value.
        """
        with self._in_flight(key):
            first = self._records.find(key, now=self._clock())
            if first is None:
                try:
                    return Once(do())
                except KeyTaken as taken:
                    first = taken.record
            return Once(answered(self._same_request(key, first)), replayed=True)

    async def arun(
        self,
        key: IdempotencyKey,
        do: Callable[[], Awaitable[T]],
        answered: Callable[[StoredAnswer], T],
    ) -> Once[T]:
        """:meth:`run` for async callers: the look-up runs off the event loop."""
        with self._in_flight(key):
            first = await asyncio.to_thread(self._records.find, key, now=self._clock())
            if first is None:
                try:
                    return Once(await do())
                except KeyTaken as taken:
                    first = taken.record
            return Once(answered(self._same_request(key, first)), replayed=True)

    @contextmanager
    def _in_flight(self, key: IdempotencyKey) -> Iterator[None]:
        scope = (key.principal, key.route, key.key)
        with self._lock:
            flying = self._flying.get(scope)
            if flying is None:
                self._flying[scope] = key.fingerprint
        if flying is not None:
            if flying != key.fingerprint:
                raise IdempotencyKeyReused(_REUSED)
            raise IdempotencyKeyInFlight(
                "the first request with this Idempotency-Key is still being answered; "
                "retry in a moment"
            )
        try:
            yield
        finally:
            with self._lock:
                del self._flying[scope]

    @staticmethod
    def _same_request(key: IdempotencyKey, first: StoredAnswer) -> StoredAnswer:
        if first.key.fingerprint != key.fingerprint:
            raise IdempotencyKeyReused(_REUSED)
        return first


_REUSED = "this Idempotency-Key was used for a different request; use a new key"
