"""The collaborative model on a world whose answer is known: two scenes of taste.

Scene one's listeners all play A and B (and a few other scene-one items); scene two's all
play C and D (and a few other scene-two items). So "listeners who like A also play B", and
nothing links A to scene two.
"""

from __future__ import annotations

import numpy as np
import pytest

from qfzz.dj._collab import CollabModel, CollabParams, fit

PLAY, LIKE, FAVOURITE, SKIP = 0.05, 0.1, 0.2, -0.05
A, B = 1, 2
C, D = 101, 102
SCENE_ONE = list(range(1, 11))
SCENE_TWO = list(range(101, 111))
UNPLAYED_BUT_SKIPPED = 500


def interactions(skippers: int = 0) -> tuple[list[int], list[int], list[float], list[float]]:
    rng = np.random.default_rng(7)
    users: list[int] = []
    items: list[int] = []
    weights: list[float] = []
    times: list[float] = []

    def add(user: int, item: int, weight: float) -> None:
        users.append(user)
        items.append(item)
        weights.append(weight)
        times.append(float(len(times)))

    for user in range(30):
        for item in [A, B, *rng.choice(SCENE_ONE[2:], 3, replace=False)]:
            add(user, int(item), PLAY)
    for user in range(30, 60):
        for item in [C, D, *rng.choice(SCENE_TWO[2:], 2, replace=False)]:
            add(user, int(item), PLAY)
    # Listeners who skip A and another item together: shared dislike is not shared taste.
    for user in range(60, 60 + skippers):
        add(user, A, SKIP)
        add(user, UNPLAYED_BUT_SKIPPED, SKIP)
        add(user, int(rng.choice(SCENE_TWO)), PLAY)
    return users, items, weights, times


@pytest.fixture(scope="module")
def model() -> CollabModel:
    return fit(*interactions(), CollabParams(factors=8))


def score_of(model: CollabModel, scores: np.ndarray, item: int) -> float:
    row = model.row_of(item)
    assert row is not None
    return float(scores[row])


def best_unrelated(model: CollabModel, scores: np.ndarray) -> float:
    return max(score_of(model, scores, item) for item in SCENE_TWO)


def test_a_new_listener_who_played_a_gets_b_above_unrelated_items(model):
    scores = model.scores([(A, PLAY, 100.0)], now=100.0)
    assert score_of(model, scores, B) > best_unrelated(model, scores)
    assert score_of(model, scores, B) > 0


def test_fold_in_counts_new_feedback_at_once_without_refitting(model):
    before = model.scores([(105, PLAY, 100.0)], now=100.0)
    after = model.scores([(105, PLAY, 100.0), (A, LIKE, 101.0)], now=101.0)
    assert score_of(model, after, B) > score_of(model, before, B)
    assert score_of(model, before, B) < best_unrelated(model, before)
    assert score_of(model, after, B) > score_of(model, after, 103)


def test_a_stronger_feedback_counts_more(model):
    played = model.scores([(105, PLAY, 1.0), (A, PLAY, 1.0)], now=1.0)
    favourite = model.scores([(105, PLAY, 1.0), (A, FAVOURITE, 1.0)], now=1.0)
    assert score_of(model, favourite, B) > score_of(model, played, B)


def test_negative_feedback_does_not_recommend(model):
    only_skip = model.scores([(A, SKIP, 100.0)], now=100.0)
    assert score_of(model, only_skip, B) <= 0
    # Skipping A does not make A's neighbour B a recommendation, nor A its reason.
    history = [(C, PLAY, 100.0), (A, SKIP, 101.0)]
    skipped = model.scores(history, now=101.0)
    assert score_of(model, skipped, B) < best_unrelated(model, skipped)
    assert model.explain(history, B, now=101.0) != A
    # A skip of B itself lowers B for a listener whose A would recommend it.
    liked_a = model.scores([(A, PLAY, 100.0)], now=100.0)
    then_skipped_b = model.scores([(A, PLAY, 100.0), (B, SKIP, 101.0)], now=101.0)
    assert score_of(model, then_skipped_b, B) < score_of(model, liked_a, B)


def test_shared_skips_are_not_shared_taste():
    model = fit(*interactions(skippers=30), CollabParams(factors=8))
    scores = model.scores([(A, PLAY, 1.0)], now=1.0)
    assert score_of(model, scores, UNPLAYED_BUT_SKIPPED) == pytest.approx(0.0, abs=1e-6)
    assert score_of(model, scores, B) > score_of(model, scores, UNPLAYED_BUT_SKIPPED)


def test_recent_feedback_outweighs_old_feedback(model):
    recent = model.with_params(recency_half_life=1.0)
    a_last = [(101, PLAY, 1.0), (103, PLAY, 2.0), (A, PLAY, 3.0)]
    a_first = [(A, PLAY, 1.0), (101, PLAY, 2.0), (103, PLAY, 3.0)]
    assert score_of(model, recent.scores(a_last, 3.0), B) > score_of(
        model, recent.scores(a_first, 3.0), B
    )
    assert score_of(model, recent.scores(a_last, 3.0), B) > score_of(
        model, recent.scores(a_last, 3.0), D
    )
    # Without recency the order of the same history does not matter.
    flat = model.with_params(recency_half_life=None)
    assert np.allclose(flat.scores(a_last, 3.0), flat.scores(a_first, 3.0))


def test_time_decay_uses_now(model):
    tuned = model.with_params(recency_half_life=None, time_half_life_s=10.0)
    history = [(A, PLAY, 0.0), (101, PLAY, 100.0)]
    early = tuned.scores(history, now=100.0)
    assert score_of(model, early, B) < score_of(model, early, 103)


def test_explain_names_the_history_item_that_supports_it(model):
    history = [(A, PLAY, 1.0), (C, PLAY, 2.0)]
    assert model.explain(history, B, now=2.0) == A
    assert model.explain(history, D, now=2.0) == C
    assert model.explain([], B, now=2.0) is None
    assert model.explain(history, 999, now=2.0) is None
    # many picks explained from one fold-in: the same answers
    assert model.explain_many(history, [B, D, 999], now=2.0) == {B: A, D: C, 999: None}
    assert model.explain_many([], [B], now=2.0) == {B: None}


def test_fitting_is_deterministic_and_pure():
    data = interactions()
    copies = tuple(list(column) for column in data)
    first = fit(*data, CollabParams(factors=8))
    second = fit(*data, CollabParams(factors=8))
    assert data == copies
    assert np.array_equal(first.item_factors, second.item_factors)
    history = [(A, PLAY, 1.0), (104, LIKE, 2.0)]
    assert np.array_equal(first.scores(history, 2.0), second.scores(history, 2.0))


def test_the_model_is_immutable(model):
    assert not model.item_factors.flags.writeable
    assert not model.item_ids.flags.writeable
    with pytest.raises(ValueError):
        model.item_factors[0, 0] = 1.0
    tuned = model.with_params(recency_half_life=2.0)
    assert tuned is not model and model.params.recency_half_life == 5.0
    assert tuned.item_factors is model.item_factors
    with pytest.raises(ValueError, match="fit-time"):
        model.with_params(regularization=1.0)


def test_unknown_items_and_empty_histories_score_zero(model):
    assert not model.scores([], now=0.0).any()
    assert not model.scores([(999, LIKE, 0.0)], now=0.0).any()
    assert model.scores([], now=0.0).shape == (model.n_items,)


def test_no_interactions_gives_an_empty_model():
    empty = fit([], [], [], [])
    assert empty.n_items == 0
    assert empty.scores([(A, PLAY, 0.0)], now=0.0).shape == (0,)


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (([1, 2], [1], [0.05], [0.0]), "equal length"),
        (([1], [1], [float("nan")], [0.0]), "finite"),
        (([1], [1], [0.05], [float("inf")]), "finite"),
    ],
)
def test_bad_input_is_refused(columns, message):
    with pytest.raises(ValueError, match=message):
        fit(*columns)


@pytest.mark.parametrize(
    "changes",
    [{"factors": 0}, {"regularization": 0.0}, {"alpha": -1.0}, {"recency_half_life": 0.0}],
)
def test_bad_parameters_are_refused(changes):
    with pytest.raises(ValueError):
        CollabParams(**changes)


def test_fold_in_solves_the_same_least_squares_as_the_fit(model):
    """With confidence 1 and no recency, folding in a listener is the fit's own user step:
    ``(YᵀY + λI) x = Σ y_h`` with λ = regularization × σ₁ of the liked matrix."""
    users, items, weights, _ = interactions()
    liked = np.zeros((max(users) + 1, model.n_items))
    for user, item, weight in zip(users, items, weights, strict=True):
        row = model.row_of(item)
        assert row is not None
        liked[user, row] = weight > 0
    strength = model.params.regularization * np.linalg.norm(liked, 2)
    y = model.item_factors.astype(np.float64)
    history = [(A, PLAY, 0.0), (B, PLAY, 1.0), (4, PLAY, 2.0)]
    rows = [model.row_of(item) for item, _, _ in history]
    user = np.linalg.solve(y.T @ y + strength * np.eye(y.shape[1]), y[rows].sum(axis=0))
    flat = model.with_params(alpha=1.0, recency_half_life=None)
    assert np.allclose(flat.scores(history, now=2.0), y @ user, atol=1e-5)
