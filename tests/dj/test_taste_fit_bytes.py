"""A fit stored as bytes for a station's other processes reads back as the same fit, and
anything else is refused (no pickles: a stored model is data only)."""

from __future__ import annotations

import numpy as np
import pytest

from qfzz.dj import fit_taste_arrays, taste_from_bytes, taste_to_bytes


def _fit():
    rng = np.random.default_rng(3)
    users = rng.integers(0, 40, 600)
    items = rng.integers(1, 60, 600)
    artists = items % 7
    weights = rng.choice([0.05, 0.3, -0.2], 600)
    stamps = np.arange(600, dtype=np.float64)
    return fit_taste_arrays(users, items, artists, weights, stamps)


def test_a_fit_round_trips_through_bytes():
    fit = _fit()
    back = taste_from_bytes(taste_to_bytes(fit))
    for mine, theirs in ((fit.tracks, back.tracks), (fit.artists, back.artists)):
        assert mine is not None and theirs is not None
        for a, b in zip(mine[:3], theirs[:3], strict=True):
            assert np.array_equal(a, b)
        assert mine[3:] == theirs[3:]
    assert (back.artist_weight, back.ranks) == (fit.artist_weight, fit.ranks)


@pytest.mark.parametrize("junk", [b"", b"not an npz", b"PK\x03\x04garbage"])
def test_anything_else_is_refused(junk):
    with pytest.raises(ValueError):
        taste_from_bytes(junk)
