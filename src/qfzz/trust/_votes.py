"""Votes: what an interaction says about a content item, and how a vote moves a record.

One listener has one standing vote per content item (the direction of their latest
interaction with it), so a record's counts change only when a listener's direction does.
The ledger applies these rules to new interactions; the chain replay checks every sealed
change against the same rules.
"""

from __future__ import annotations

from qfzz.models import Interaction

_POSITIVE = frozenset({"play", "like", "favorite"})
_NEGATIVE = frozenset({"skip", "dislike"})


def vote_of(interaction: Interaction) -> int:
    """+1 verifies, -1 reports: like, play, favorite and a rating ≥ 0.5 verify."""
    vote = row_vote(interaction.type.value, interaction.rating)
    return -1 if vote is None else vote


def row_vote(kind: object, rating: object) -> int | None:
    """The vote of a stored row (type, rating), or ``None`` for a garbled one."""
    if kind == "rate":
        if rating is None:
            return -1
        if isinstance(rating, bool) or not isinstance(rating, int | float):
            return None
        return 1 if rating >= 0.5 else -1
    if kind in _POSITIVE:
        return 1
    if kind in _NEGATIVE:
        return -1
    return None


def moved(verifications: int, reports: int, previous: int | None, vote: int) -> tuple[int, int]:
    """A record's counts after a listener's standing vote goes from ``previous`` (``None``
    when they had not voted) to ``vote``."""
    if previous == 1:
        verifications -= 1
    elif previous == -1:
        reports -= 1
    if vote == 1:
        verifications += 1
    else:
        reports += 1
    return verifications, reports
