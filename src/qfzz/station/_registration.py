"""Signing listeners up: the stored record, the first bearer token and the new profile."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from qfzz.models import ListenerPreferences
from qfzz.station._accounts import hash_password, new_token, token_digest, validate_user_id
from qfzz.station._preferences import parse_preferences
from qfzz.station._profiles import ProfileBook
from qfzz.store import ListenerRecord, ListenerRepository


@dataclass(frozen=True, slots=True)
class Registration:
    user_id: str
    token: str


class Registrar:
    def __init__(
        self,
        listeners: ListenerRepository,
        profiles: ProfileBook,
        *,
        default_discovery: float,
        token_ttl: float,
        clock: Callable[[], float],
    ) -> None:
        self._listeners = listeners
        self._profiles = profiles
        self._default_discovery = default_discovery
        self._token_ttl = token_ttl
        self._clock = clock

    def register(
        self,
        user_id: str,
        preferences: Mapping[str, Any] | ListenerPreferences | None = None,
        *,
        password: str | None = None,
    ) -> Registration:
        """Create a listener; returns its stored id and a bearer token (only its digest is kept).

        The id is normalised first (``qfzz.models.normalise_user_id``); another case or
        width of an existing id is ``ListenerExists``.
        """
        user_id = validate_user_id(user_id)
        prefs = parse_preferences(preferences, default_discovery=self._default_discovery)
        password_hash = hash_password(password) if password is not None else None
        token = new_token()
        now = self._clock()
        profile = self._profiles.new(user_id, prefs)
        record = ListenerRecord(
            user_id=user_id,
            preferences={
                "genres": prefs.genres,
                "artists": prefs.artists,
                "moods": prefs.moods,
                "discovery_factor": prefs.discovery_factor,
                "energy_level": prefs.energy_level,
                "tempo_preference": prefs.tempo_preference,
            },
            discovery_factor=prefs.discovery_factor,
            energy_level=prefs.energy_level,
            tempo_preference=prefs.tempo_preference,
            created_at=now,
        )
        self._listeners.create(
            record,
            password_hash=password_hash,
            token_digest=token_digest(token),
            weights=profile.weights,
            token_expires_at=now + self._token_ttl,
        )
        self._profiles.put(profile)
        return Registration(user_id, token)
