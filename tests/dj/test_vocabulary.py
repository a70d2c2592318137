"""A vocabulary numbers keys as they are first seen, one by one or a whole column at once."""

from __future__ import annotations

import random

from qfzz.dj._vocab import Vocabulary


def test_coding_a_column_at_once_numbers_it_as_one_by_one() -> None:
    rng = random.Random(5)
    for _ in range(50):
        seed = [f"k{rng.randrange(30)}" for _ in range(rng.randrange(5))]
        keys = [f"k{rng.randrange(40)}" for _ in range(rng.randrange(60))]
        displays = [f"{key} shown {rng.randrange(3)}" for key in keys]
        one_by_one, at_once = Vocabulary(), Vocabulary()
        for vocabulary in (one_by_one, at_once):
            for key in seed:
                vocabulary.code(key, key.upper())
        expected = [one_by_one.code(k, d) for k, d in zip(keys, displays, strict=True)]
        assert at_once.code_all(keys, displays) == expected
        assert (at_once.keys, at_once.display) == (one_by_one.keys, one_by_one.display)
        assert at_once.code_all([], []) == []
