"""The artist model: what listeners who like an artist also play, learned from everyone,
reaching tracks nobody has played yet."""

from __future__ import annotations

import numpy as np

from qfzz.dj import (
    ARTIST_PARAMS,
    CatalogIndex,
    Collaborative,
    CollabParams,
    ListenerProfile,
    PersonalizedDJ,
    artist_item_id,
    fit_collaborative,
)
from qfzz.models import Interaction, InteractionType, ListenerPreferences, normalise_creator

ARTISTS = [f"Artist {a}" for a in range(40)]
SCENE_A, SCENE_B = ARTISTS[:10], ARTISTS[10:20]


def _index() -> CatalogIndex:
    """Forty artists of ten tracks each, all one genre and mood (content cannot tell them
    apart): track ``10·a + k + 1`` is artist ``a``'s ``k``-th."""
    n = len(ARTISTS) * 10
    return CatalogIndex().extended(
        list(range(1, n + 1)),
        [ARTISTS[t // 10] for t in range(n)],
        ["rock"] * n,
        [None] * n,
        [0.5] * n,
        [120.0] * n,
        [True] * n,
    )


def _tracks_of(artist: str) -> list[int]:
    a = ARTISTS.index(artist)
    return list(range(10 * a + 1, 10 * a + 11))


def _fitted(index: CatalogIndex, collaborative: Collaborative) -> None:
    """Two scenes of thirty listeners: each plays the first five tracks of five of their
    scene's artists (so the last five tracks of every artist were never played)."""
    rng = np.random.default_rng(5)
    users, items = [], []
    for user in range(60):
        scene = SCENE_A if user < 30 else SCENE_B
        for artist in rng.choice(scene, 5, replace=False):
            for track in _tracks_of(str(artist))[:5]:
                users.append(user)
                items.append(track)
    u, i = np.asarray(users), np.asarray(items)
    w, t = np.full(len(items), 0.05), np.arange(len(items), dtype=float)
    artists = collaborative.artist_items(index, i)
    assert (artists >= 0).all()
    collaborative.install(
        fit_collaborative(u, i, w, t), fit_collaborative(u, artists, w, t, ARTIST_PARAMS)
    )


def _listener(plays: list[int], skips: list[int] = ()) -> ListenerProfile:
    profile = ListenerProfile.from_preferences("newcomer", ListenerPreferences())
    for n, track in enumerate(plays):
        profile.remember(Interaction("newcomer", track, InteractionType.PLAY, None, float(n)))
    for n, track in enumerate(skips):
        profile.remember(Interaction("newcomer", track, InteractionType.SKIP, None, 100.0 + n))
    return profile


def test_artist_ids_are_stable_digests_of_the_normalised_key():
    key = normalise_creator("Beyoncé")
    assert artist_item_id(key) == artist_item_id(normalise_creator("Beyoncé"))
    assert artist_item_id(key) != artist_item_id(normalise_creator("Adele"))
    assert 0 <= artist_item_id(key) < 2**63
    index = _index()
    items = Collaborative().artist_items(index, [1, 11, 10_000])
    assert items[0] == artist_item_id(normalise_creator("Artist 0"))
    assert items[1] == artist_item_id(normalise_creator("Artist 1"))
    assert items[2] == -1  # a track the snapshot does not know


def test_one_play_of_a_scene_brings_its_other_artists_never_played_tracks():
    index = _index()
    collaborative = Collaborative()
    _fitted(index, collaborative)
    dj = PersonalizedDJ(index, collaborative=collaborative)
    first = _tracks_of(SCENE_A[0])[0]
    picks = dj.recommend(_listener([first]), 10, now=10.0)
    scene_tracks = {t for a in SCENE_A for t in _tracks_of(a)}
    assert sum(r.track_id in scene_tracks for r in picks) >= 9  # 100 of 400 tracks
    never_played = {t for a in SCENE_A for t in _tracks_of(a)[5:]}
    carried = [r for r in picks if r.track_id in never_played]
    assert carried  # only the artist model can know these
    reason = next(
        text for r in carried for text in r.reasons if text.startswith("listeners who like")
    )
    assert reason.startswith(f"listeners who like {SCENE_A[0]} also play Artist ")


def test_without_the_artist_model_never_played_tracks_are_not_carried():
    index = _index()
    collaborative = Collaborative(artist_weight=0.0)
    _fitted(index, collaborative)
    blend = collaborative.blend(index, _listener([_tracks_of(SCENE_A[0])[0]]).history, 10.0)
    assert blend is not None and blend.artists is None
    never_played = [index.row_of(t) for a in SCENE_A for t in _tracks_of(a)[5:]]
    assert np.all(blend.boost(index)[never_played] == 0.0)


def test_a_skipped_artist_counts_against_its_scene():
    """With ``negative`` > 0, history of nothing but skips still says something: the
    skipped artist's scene scores below the others (a confident zero would say nothing)."""
    index = _index()
    collaborative = Collaborative(weight=0.0)
    _fitted(index, collaborative)
    skipped = _tracks_of(SCENE_A[0])[0]
    blend = collaborative.blend(index, _listener([], [skipped]).history, 10.0)
    assert blend is not None and blend.artists is not None
    by_code = blend.artists.by_code
    scene_a = [index.artists.get(normalise_creator(a)) for a in SCENE_A]
    scene_b = [index.artists.get(normalise_creator(a)) for a in SCENE_B]
    assert by_code[scene_a].mean() < 0 and by_code[scene_a].mean() < by_code[scene_b].mean()
    plain = Collaborative(weight=0.0)
    plain.install(None, _refit_without_negatives(collaborative, index))
    assert plain.blend(index, _listener([], [skipped]).history, 10.0) is None


def _refit_without_negatives(collaborative: Collaborative, index: CatalogIndex):
    model = collaborative.artist_model
    assert model is not None and model.params.negative > 0
    rng = np.random.default_rng(5)
    users, items = [], []
    for user in range(60):
        scene = SCENE_A if user < 30 else SCENE_B
        for artist in rng.choice(scene, 5, replace=False):
            users.append(user)
            items.append(int(collaborative.artist_items(index, [_tracks_of(str(artist))[0]])[0]))
    n = len(items)
    params = CollabParams(factors=16, regularization=0.2, negative=0.0)
    return fit_collaborative(users, items, np.full(n, 0.05), np.zeros(n), params)


def test_draws_by_artist_stay_within_each_artist():
    index = _index()
    codes = np.asarray([index.artists.get(normalise_creator(a)) for a in ARTISTS[:5]] * 40)
    rows = index.random_rows_of_artists(codes, np.random.default_rng(1))
    assert [index.artist[r] for r in rows] == codes.tolist()
    assert len(set(rows.tolist())) > 5  # not always an artist's first track
    assert index.artist_sizes()[codes[0]] == 10


def test_neighbour_draws_come_from_what_the_listener_s_scene_plays():
    index = _index()
    collaborative = Collaborative()
    _fitted(index, collaborative)
    blend = collaborative.blend(index, _listener([_tracks_of(SCENE_A[0])[0]]).history, 10.0)
    assert blend is not None
    rows = collaborative.neighbour_rows(index, blend, np.random.default_rng(2), 400)
    assert rows.shape == (400,)
    positive = blend.boost(index)[rows] > 0
    assert positive.mean() > 0.95  # drawn by positive share: what they are like
    scene = {index.artists.get(normalise_creator(a)) for a in SCENE_A}
    assert np.mean([index.artist[r] in scene for r in rows]) > 0.9


def test_weighted_draws_never_pick_what_has_no_mass():
    from qfzz.dj._collaborative import _draw

    cumulative = np.cumsum([0.0, 1.0, 0.0, 3.0, 0.0])
    drawn = _draw(cumulative, 20_000, np.random.default_rng(0))
    counts = np.bincount(drawn, minlength=5)
    assert counts[[0, 2, 4]].tolist() == [0, 0, 0]
    assert 0.2 < counts[1] / counts.sum() < 0.3  # 1 of 4

    class AtTheTop:  # a uniform draw of the largest float below 1: a product that rounds up
        def random(self, k: int) -> np.ndarray:
            return np.full(k, np.nextafter(1.0, 0.0))

    assert _draw(cumulative, 3, AtTheTop()).tolist() == [3, 3, 3]  # the last with mass
