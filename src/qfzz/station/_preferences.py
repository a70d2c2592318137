"""Turning a listener's stated preferences (lists or weight maps) into a validated value."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qfzz.dj import STATED_WEIGHT, TEMPO_PREFERENCES
from qfzz.errors import InvalidInput
from qfzz.models import ListenerPreferences

_KNOWN = {"genres", "artists", "moods", "discovery_factor", "energy_level", "tempo_preference"}


def parse_preferences(
    raw: Mapping[str, Any] | ListenerPreferences | None, *, default_discovery: float
) -> ListenerPreferences:
    if isinstance(raw, ListenerPreferences):
        return raw
    raw = dict(raw or {})
    unknown = set(raw) - _KNOWN
    if unknown:
        raise InvalidInput(f"unknown preference fields: {', '.join(sorted(unknown))}")
    discovery = _unit(raw.get("discovery_factor", default_discovery), "discovery_factor")
    energy = _unit(raw.get("energy_level", 0.5), "energy_level")
    tempo = raw.get("tempo_preference", "varied")
    if tempo not in TEMPO_PREFERENCES:
        raise InvalidInput(f"tempo_preference must be one of {sorted(TEMPO_PREFERENCES)}")
    return ListenerPreferences(
        genres=_weights(raw.get("genres"), "genres"),
        artists=_weights(raw.get("artists"), "artists"),
        moods=_weights(raw.get("moods"), "moods"),
        discovery_factor=discovery,
        energy_level=energy,
        tempo_preference=tempo,
    )


def _unit(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise InvalidInput(f"{name} must be a number in [0, 1]")
    return float(value)


def _weights(value: Any, name: str) -> dict[str, float]:
    if value is None:
        return {}
    if isinstance(value, list | tuple):
        if not all(isinstance(v, str) and v.strip() for v in value):
            raise InvalidInput(f"{name} must be a list of non-empty names")
        return {v.strip(): STATED_WEIGHT for v in value}
    if isinstance(value, Mapping):
        return {str(k).strip(): _unit(v, f"{name}[{k!r}]") for k, v in value.items()}
    raise InvalidInput(f"{name} must be a list of names or a map of name → weight")
