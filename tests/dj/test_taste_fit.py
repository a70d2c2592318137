"""The artist model's weight is chosen on the station's own held-out plays: it counts
where taste follows artists and not where it does not."""

from __future__ import annotations

import numpy as np

from qfzz.dj import W_ARTIST_COLLAB, choose_artist_weight, fit_taste

SCENES, LISTENERS, ARTISTS, TRACKS_EACH = 4, 120, 40, 8


def _world(artists_follow_taste: bool, seed: int = 11):
    """Listeners in four scenes play ten tracks each from their scene's quarter of the
    catalog. Where artists follow taste, a scene's tracks are by its own ten artists; where
    not, every track's artist is drawn at random from all forty."""
    rng = np.random.default_rng(seed)
    n = ARTISTS * TRACKS_EACH
    track_ids = np.arange(1, n + 1)
    if artists_follow_taste:
        artist_of = (track_ids - 1) // TRACKS_EACH  # tracks 1–80: artists 0–9, scene 0
    else:
        artist_of = rng.integers(0, ARTISTS, n)
    scene_of = (track_ids - 1) * SCENES // n
    users, items = [], []
    for user in range(LISTENERS):
        mine = track_ids[scene_of == user % SCENES]
        for track in rng.choice(mine, 10, replace=False):
            users.append(user)
            items.append(int(track))
    u, i = np.asarray(users), np.asarray(items)
    w = np.full(i.shape[0], 0.05)
    t = np.arange(i.shape[0], dtype=float)
    return u, i, artist_of[i - 1] + 1000, w, t


def test_artist_weight_counts_where_taste_follows_artists():
    weight, ranks = choose_artist_weight(*_world(artists_follow_taste=True))
    assert weight > 0
    assert ranks[weight] == min(ranks.values())
    # held-out tracks rank near the top once the artist model counts, near the middle
    # (0.5: a random order) without it
    assert ranks[weight] < 0.25 < 0.4 < ranks[0.0]


def test_artists_that_say_little_of_taste_earn_little():
    weight, ranks = choose_artist_weight(*_world(artists_follow_taste=False))
    assert ranks[weight] == min(ranks.values())
    assert ranks[0.0] - ranks[weight] < 0.1  # against 0.3 where artists follow taste


def test_too_few_listeners_keep_the_default_weight():
    u, i, a, w, t = _world(artists_follow_taste=True)
    few = u < 10
    weight, ranks = choose_artist_weight(u[few], i[few], a[few], w[few], t[few])
    assert (weight, ranks) == (W_ARTIST_COLLAB, {})


def test_fit_taste_hands_both_models_and_the_choice():
    u, i, a, w, t = _world(artists_follow_taste=True)
    models = fit_taste(u, i, a, w, t)
    assert models.artists is not None and models.artists.n_items == ARTISTS
    assert models.tracks.n_items == np.unique(i).size
    assert models.artist_weight == choose_artist_weight(u, i, a, w, t)[0]
    unknown = np.full_like(a, -1)  # no artist known for any track: no artist model
    assert fit_taste(u, i, unknown, w, t).artists is None


def test_where_listeners_skip_the_choice_is_judged_on_kept_over_skipped():
    """A radio's listeners keep some tracks and skip others, interleaved in time: the
    weight is judged on ordering what they kept above what they skipped (the error is
    the share of pairs ordered wrongly, 0.5 for a coin)."""
    rng = np.random.default_rng(4)
    n = ARTISTS * TRACKS_EACH
    track_ids = np.arange(1, n + 1)
    artist_of = (track_ids - 1) // TRACKS_EACH
    scene_of = (track_ids - 1) * SCENES // n
    rows = []
    for user in range(LISTENERS):
        mine = track_ids[scene_of == user % SCENES]
        others = track_ids[scene_of != user % SCENES]
        for step, track in enumerate(rng.choice(mine, 12, replace=False)):
            rows.append((user, int(track), 0.05, 2.0 * step))
        for step, track in enumerate(rng.choice(others, 6, replace=False)):
            rows.append((user, int(track), -0.05, 4.0 * step + 1.0))  # skips among the plays
    u, i, w, t = (np.asarray(c) for c in zip(*rows, strict=True))
    weight, errors = choose_artist_weight(u, i, artist_of[i - 1] + 1000, w, t)
    assert weight > 0 and errors[weight] == min(errors.values())
    assert errors[weight] < errors[0.0]
    assert all(0.0 <= e <= 1.0 for e in errors.values())
