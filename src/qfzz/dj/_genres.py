"""Genre names and which genres are related (a related genre earns half the weight)."""

from __future__ import annotations

# From the QFZZ design's similarity table, extended with the demo library's genres.
_RELATED: dict[str, tuple[str, ...]] = {
    "rock": ("alternative", "indie", "punk", "metal", "hard-rock", "blues"),
    "pop": ("dance", "electronic", "indie-pop", "synth-pop"),
    "jazz": ("blues", "soul", "funk", "swing"),
    "classical": ("orchestral", "baroque", "romantic", "contemporary", "ambient"),
    "hip-hop": ("rap", "trap", "r&b", "urban"),
    "electronic": ("techno", "house", "trance", "ambient"),
    "folk": ("acoustic", "country", "americana", "singer-songwriter"),
    "metal": ("hard-rock", "progressive", "death-metal", "black-metal"),
}


def normalise_genre(name: str | None) -> str:
    """ "Hip Hop", "hip_hop" and "hip-hop" are one genre; unknown is the empty string."""
    if not name:
        return ""
    return "-".join(name.casefold().replace("_", " ").split())


def related_genres() -> dict[str, frozenset[str]]:
    """The symmetric closure of the similarity table."""
    related: dict[str, set[str]] = {}
    for genre, others in _RELATED.items():
        for other in others:
            related.setdefault(genre, set()).add(other)
            related.setdefault(other, set()).add(genre)
    return {genre: frozenset(others) for genre, others in related.items()}
