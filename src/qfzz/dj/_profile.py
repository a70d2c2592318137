"""A listener's taste: learned weights plus the history the DJ must respect.

The weights follow the QFZZ design: every interaction moves the genre, artist and mood
weights of its track by the interaction's strength, clamped to [0, 1]. A key the listener
never touched weighs 0 (it earns nothing), so stated preferences start above it.
The history (recent plays, skips, likes) is derived from stored interactions, so the whole
profile can be rebuilt from them at any time.
"""

from __future__ import annotations

import secrets
import threading
from collections import deque
from dataclasses import dataclass, field

from qfzz.dj._genres import normalise_genre
from qfzz.dj._index import TrackFeatures
from qfzz.models import (
    Interaction,
    InteractionType,
    ListenerPreferences,
    feedback_strength,
    normalise_creator,
)

KINDS = ("genre", "artist", "mood")
#: Weight a stated preference starts with when given as a plain list.
STATED_WEIGHT = 0.8
TEMPO_TARGETS = {"slow": 75.0, "medium": 110.0, "fast": 150.0}
TEMPO_PREFERENCES = frozenset({"slow", "medium", "fast", "varied"})

# Track-level memory of explicit and implicit feedback (added to a track's score).
_AFFINITY = {
    InteractionType.LIKE: 0.08,
    InteractionType.FAVORITE: 0.12,
    InteractionType.DISLIKE: -1.0,
}


def clamp(value: float, low: float = 0.0, high: float = 1.0) -> float:
    return max(low, min(high, value))


def initial_weights(prefs: ListenerPreferences) -> dict[str, dict[str, float]]:
    """Stated preferences as normalised weight tables."""
    return {
        "genre": {normalise_genre(k): clamp(v) for k, v in prefs.genres.items() if k.strip()},
        "artist": {normalise_creator(k): clamp(v) for k, v in prefs.artists.items() if k.strip()},
        "mood": {k.strip().casefold(): clamp(v) for k, v in prefs.moods.items() if k.strip()},
    }


@dataclass
class ListenerProfile:
    user_id: str
    weights: dict[str, dict[str, float]]
    discovery_factor: float = 0.2
    energy_level: float = 0.5
    tempo_preference: str = "varied"
    recent_plays: deque[int] = field(default_factory=lambda: deque(maxlen=50))
    skipped_at: dict[int, float] = field(default_factory=dict)
    affinity: dict[int, float] = field(default_factory=dict)
    generated: int = 0
    #: Interactions folded into ``weights`` (in the store's order) and how many of those a
    #: stored snapshot holds; the difference is replayed from the log after a restart.
    applied: int = 0
    snapshotted: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    #: Random and new for every profile object (each load from the store, each rebuild):
    #: with ``applied`` it versions what was computed from this profile, since a reloaded
    #: profile may count the same ``applied`` again after a lost commit or a restart.
    incarnation: str = field(
        default_factory=lambda: secrets.token_hex(8), repr=False, compare=False
    )

    @classmethod
    def from_preferences(
        cls, user_id: str, prefs: ListenerPreferences, *, recent_window: int = 50
    ) -> ListenerProfile:
        return cls(
            user_id=user_id,
            weights=initial_weights(prefs),
            discovery_factor=prefs.discovery_factor,
            energy_level=prefs.energy_level,
            tempo_preference=prefs.tempo_preference,
            recent_plays=deque(maxlen=max(recent_window, 1)),
        )

    @property
    def tempo_target(self) -> float | None:
        return TEMPO_TARGETS.get(self.tempo_preference)

    def weight(self, kind: str, key: str) -> float:
        return self.weights.get(kind, {}).get(key, 0.0)

    def top(self, kind: str, n: int) -> list[str]:
        table = self.weights.get(kind, {})
        ranked = sorted((w, k) for k, w in table.items() if w > 0)
        return [k for _, k in reversed(ranked[-n:])]

    def apply(self, interaction: Interaction, track: TrackFeatures) -> list[tuple[str, str, float]]:
        """Learn from one interaction; returns the (kind, key, weight) rows it changed."""
        strength = feedback_strength(interaction.type, interaction.rating)
        changed: list[tuple[str, str, float]] = []
        weights = self.weights
        for kind, key in (("genre", track.genre), ("artist", track.artist), ("mood", track.mood)):
            if key:
                table = weights.get(kind)
                if table is None:
                    table = weights[kind] = {}
                value = table.get(key, 0.0) + strength
                value = 0.0 if value < 0.0 else 1.0 if value > 1.0 else value
                table[key] = value
                changed.append((kind, key, value))
        if strength > 0:
            # Drift towards the energy of what the listener enjoys.
            self.energy_level = clamp(
                self.energy_level + min(1.0, 2 * strength) * (track.energy - self.energy_level)
            )
        self.remember(interaction)
        return changed

    def remember(self, interaction: Interaction) -> None:
        """Update the track-level history (no weights): plays, skips, likes, ratings."""
        track_id, kind = interaction.track_id, interaction.type
        if kind is InteractionType.PLAY:
            self.recent_plays.append(track_id)
        elif kind is InteractionType.SKIP:
            self.skipped_at[track_id] = interaction.created_at
        elif kind in _AFFINITY:
            total = self.affinity.get(track_id, 0.0) + _AFFINITY[kind]
            self.affinity[track_id] = clamp(total, -1.0, 0.2)
        elif kind is InteractionType.RATE and interaction.rating is not None:
            self.affinity[track_id] = (interaction.rating - 0.5) * 0.4
