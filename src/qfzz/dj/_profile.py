"""A listener's taste: learned weights plus the history the DJ must respect.

Every interaction is evidence about the genre, artist and mood of its track, counted in
plays by the QFZZ feedback strengths (a play is one, a like two, a favourite four; a skip
one against, a dislike two against). A key's weight is the smoothed share of positive
evidence in all of it, pulled towards a prior worth :data:`PRIOR_PLAYS` plays (the stated
preference, or 0 for a key the listener never named: it earns its weight), with the
evidence halving every :data:`TASTE_HALF_LIFE` seconds. So the weight measures outcomes
relative to exposure: ten likes of jazz and ten of rock with five skips of rock no longer
tie at 1.0 (the design's clamped steps saturated after ~10 likes), and what a listener did
last year fades behind what they do now.

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

#: Feedback events kept for the collaborative fold-in (its recency weighting makes older
#: ones count for little).
HISTORY_LENGTH = 500
#: Evidence is counted in plays: the strength of one play.
EVIDENCE_UNIT = 0.05
#: How many plays' worth the prior of a key (its stated weight, else 0) counts for.
PRIOR_PLAYS = 2.0
#: Evidence halves in this many seconds (90 days).
TASTE_HALF_LIFE = 90 * 86_400.0
#: The stored form of the evidence: beside each weight table ``kind``, tables ``kind+``
#: (positive plays), ``kind-`` (negative), ``kind@`` (when last faded) and ``kind0`` (the
#: prior), so a snapshot restores the evidence as well as the weights.
_EVIDENCE_TABLES = ("+", "-", "@", "0")

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
    #: Every track the listener interacted with in any way: what "familiar" means.
    heard: set[int] = field(default_factory=set)
    #: The latest feedback as (track id, QFZZ strength, when), oldest first: what the
    #: collaborative model folds the listener in from at each request.
    history: deque[tuple[int, float, float]] = field(
        default_factory=lambda: deque(maxlen=HISTORY_LENGTH)
    )
    #: kind → key → [positive plays, negative plays, faded at, prior]: what the weights are
    #: computed from (see the module's docstring).
    evidence: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    generated: int = 0
    #: Interactions folded into ``weights`` (in the store's order) and how many of those a
    #: stored snapshot holds; the difference is replayed from the log after a restart.
    applied: int = 0
    snapshotted: int = 0
    #: (kind, key) whose weight or evidence changed since the last snapshot, so the next
    #: one writes only those rows (a snapshot costs what was learned, not the profile's
    #: size); ``None``: the stored rows may differ anywhere, so the next one writes all.
    unsaved: set[tuple[str, str]] | None = field(default=None, repr=False, compare=False)
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
        for kind, key in (("genre", track.genre), ("artist", track.artist), ("mood", track.mood)):
            if key:
                value = self._learn(kind, key, strength, interaction.created_at)
                changed.append((kind, key, value))
        if strength > 0:
            # Drift towards the energy of what the listener enjoys.
            self.energy_level = clamp(
                self.energy_level + min(1.0, 2 * strength) * (track.energy - self.energy_level)
            )
        self.remember(interaction)
        return changed

    def _learn(self, kind: str, key: str, strength: float, at: float) -> float:
        """Add one interaction's evidence about ``key`` and recompute its weight."""
        table = self.weights.setdefault(kind, {})
        notes = self.evidence.setdefault(kind, {})
        found = notes.get(key)
        if found is None:  # first evidence: the weight so far (stated, or 0) is the prior
            found = notes[key] = [0.0, 0.0, at, table.get(key, 0.0)]
        positive, negative, faded_at, prior = found
        if at > faded_at:
            fade = 0.5 ** ((at - faded_at) / TASTE_HALF_LIFE)
            positive, negative, faded_at = positive * fade, negative * fade, at
        units = abs(strength) / EVIDENCE_UNIT
        if strength > 0:
            positive += units
        elif strength < 0:
            negative += units
        found[:] = [positive, negative, faded_at, prior]
        value = (prior * PRIOR_PLAYS + positive) / (PRIOR_PLAYS + positive + negative)
        table[key] = value
        if self.unsaved is not None:
            self.unsaved.add((kind, key))
        return value

    def stored_tables(self) -> dict[str, dict[str, float]]:
        """The weights and the evidence behind them, as the store keeps them."""
        tables = {kind: dict(table) for kind, table in self.weights.items()}
        for kind, notes in self.evidence.items():
            for position, suffix in enumerate(_EVIDENCE_TABLES):
                tables[kind + suffix] = {key: values[position] for key, values in notes.items()}
        return tables

    def unsaved_tables(self) -> tuple[dict[str, dict[str, float]], bool]:
        """What the next snapshot must write, and whether that is the whole profile (the
        store's rows replaced) rather than only the rows learned since the last one
        (upserted). The caller holds ``lock`` and calls :meth:`saved` once it is stored."""
        if self.unsaved is None:
            return self.stored_tables(), True
        tables: dict[str, dict[str, float]] = {}
        for kind, key in self.unsaved:
            tables.setdefault(kind, {})[key] = self.weights[kind][key]
            values = self.evidence[kind][key]
            for position, suffix in enumerate(_EVIDENCE_TABLES):
                tables.setdefault(kind + suffix, {})[key] = values[position]
        return tables, False

    def saved(self) -> None:
        """The rows :meth:`unsaved_tables` gave are stored: later snapshots write deltas."""
        self.unsaved = set()

    def load_tables(self, tables: dict[str, dict[str, float]]) -> None:
        """Restore what :meth:`stored_tables` gave (weights without evidence are kept: a
        snapshot older than the evidence tables starts its evidence afresh)."""
        self.weights = {k: dict(t) for k, t in tables.items() if k in KINDS}
        self.evidence = {}
        self.unsaved = None
        for kind in KINDS:
            parts = [tables.get(kind + suffix, {}) for suffix in _EVIDENCE_TABLES]
            notes = self.evidence.setdefault(kind, {})
            for key in parts[0]:
                notes[key] = [float(part.get(key, 0.0)) for part in parts]

    def remember(self, interaction: Interaction) -> None:
        """Update the track-level history (no weights): plays, skips, likes, ratings."""
        track_id, kind = interaction.track_id, interaction.type
        self.heard.add(track_id)
        if kind is not InteractionType.RATE or interaction.rating is not None:
            strength = feedback_strength(kind, interaction.rating)
            self.history.append((track_id, strength, interaction.created_at))
        if kind is InteractionType.PLAY:
            self.recent_plays.append(track_id)
        elif kind is InteractionType.SKIP:
            self.skipped_at[track_id] = interaction.created_at
        elif kind in _AFFINITY:
            total = self.affinity.get(track_id, 0.0) + _AFFINITY[kind]
            self.affinity[track_id] = clamp(total, -1.0, 0.2)
        elif kind is InteractionType.RATE and interaction.rating is not None:
            self.affinity[track_id] = (interaction.rating - 0.5) * 0.4
