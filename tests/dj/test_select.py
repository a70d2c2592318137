from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from qfzz.dj import top_rows


def _reference(scores: np.ndarray, k: int) -> list[int]:
    finite = [i for i in range(len(scores)) if np.isfinite(scores[i])]
    return sorted(finite, key=lambda i: (-scores[i], i))[:k]


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 300_000),
    k=st.integers(0, 80),
    seed=st.integers(0, 2**32 - 1),
    ties=st.booleans(),
    excluded=st.floats(0, 0.99),
)
def test_top_rows_equals_a_full_sort(n, k, seed, ties, excluded):
    rng = np.random.default_rng(seed)
    scores = rng.random(n).astype(np.float32)
    if ties:
        scores = np.round(scores * 20).astype(np.float32) / 20
    scores[rng.random(n) < excluded] = -np.inf
    got = top_rows(scores, k).tolist()
    finite = np.flatnonzero(np.isfinite(scores))
    expected = finite[np.lexsort((finite, -scores[finite]))][:k].tolist()
    assert got == expected


def test_reference_agrees_on_a_small_case():
    scores = np.array([0.1, 0.5, -np.inf, 0.5, 0.9], dtype=np.float32)
    assert top_rows(scores, 3).tolist() == _reference(scores, 3) == [4, 1, 3]
