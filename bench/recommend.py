"""Recommendation quality on MovieLens-100k: QFZZ's collaborative model vs the usual baselines.

Data: MovieLens-100k as shipped in the ``recbole`` 1.2.1 wheel (``dataset_example/ml-100k``),
downloaded once with ``pip download`` into ``~/.cache/qfzz-bench`` and read from the wheel's
zip. Films stand for tracks: genre = the first listed class; artist = the film's director
from the wheel's knowledge graph (``ml-100k.link`` → Freebase ``film.film.directed_by``),
the film itself when the graph has no director for it (ml-100k's own files carry none).
Every rating counts as one positive interaction (weight 1), whatever its value.

Protocol: each user's interactions in timestamp order (equal timestamps keep the file's
order); the LAST one is the test item, the one before it the validation item, the rest is
training. Hyper-parameters are chosen on validation only (trained on the training part,
scored on the validation item); each method is then retrained with its chosen setting on
training + validation and scored on the test item. Every item the user has not interacted
with is ranked (ties broken by item id, as a served list would), 943 users; HR@10 and
NDCG@10.

Methods: popularity; item-kNN (cosine; neighbours tuned); implicit ALS (the ``implicit``
package, 64 factors; regularisation and alpha tuned). Candidates for QFZZ: EASE (Steck
2019; λ tuned, with and without a recency-weighted history; dense items², so it cannot
serve a large catalogue); item-kNN over a recency-weighted history plus a first-order
transition (Markov) term; implicit's ALS with each user re-solved from a recency-weighted
history (``recalculate_user``); and QFZZ's model (``qfzz.dj._collab``: numpy ALS with
uniform confidence, 64 factors, listeners folded in at request time from a
recency-weighted history with per-item confidence), scored through its real
``fit``/``scores`` API one listener at a time, every rating one QFZZ play (0.05). QFZZ's
model is the one whose setting wins on validation; all are reported on test. Also
measured: its fit time and memory on ML-100k, and on a synthetic catalogue of
``--scale-items`` items (listeners in 200 scenes of taste).

    python3 run.py bench recommend [--cache DIR] [--scale-items 100000]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit's advice: its own threads

import argparse
import itertools
import subprocess
import sys
import time
import tracemalloc
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from qfzz.dj import (
    W_COLLAB,
    CatalogIndex,
    CollabModel,
    Collaborative,
    CollabParams,
    ListenerProfile,
    PersonalizedDJ,
    fit_taste,
)
from qfzz.dj import fit_collaborative as fit
from qfzz.models import Interaction, InteractionType, ListenerPreferences

WHEEL = "recbole==1.2.1"
PREFIX = "recbole/dataset_example/ml-100k/ml-100k"
K = 10
TARGET_HR, TARGET_NDCG = 0.16, 0.075


@dataclass(frozen=True)
class Data:
    users: np.ndarray  # per interaction, sorted by (user, timestamp, file order)
    items: np.ndarray
    times: np.ndarray
    n_users: int
    n_items: int  # item ids are 1..n_items-1 (0 unused)
    genre: dict[int, str]
    artist: dict[int, str]

    def masks(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        last = np.r_[self.users[1:] != self.users[:-1], True]
        before_last = np.r_[last[1:], False] & ~last
        return ~(last | before_last), before_last, last


def wheel_path(cache: Path) -> Path:
    found = sorted(cache.glob("recbole-1.2.1-*.whl"))
    if found:
        return found[0]
    cache.mkdir(parents=True, exist_ok=True)
    print(f"downloading the {WHEEL} wheel (2 MB) into {cache} …", flush=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", WHEEL, "-d", str(cache)],
        check=True,
    )
    return sorted(cache.glob("recbole-1.2.1-*.whl"))[0]


def rows(zf: zipfile.ZipFile, suffix: str) -> list[list[str]]:
    return [line.split("\t") for line in zf.read(PREFIX + suffix).decode().splitlines()[1:]]


def load(cache: Path) -> Data:
    with zipfile.ZipFile(wheel_path(cache)) as zf:
        inter = rows(zf, ".inter")
        films = rows(zf, ".item")
        link = {item: entity for item, entity in rows(zf, ".link")}
        directed = {h: t for h, r, t in rows(zf, ".kg") if r == "film.film.directed_by"}
    users = np.array([int(r[0]) for r in inter])
    items = np.array([int(r[1]) for r in inter])
    times = np.array([float(r[3]) for r in inter])
    order = np.lexsort((np.arange(users.shape[0]), times, users))
    genre = {int(r[0]): (r[3].split(" ")[0] if len(r) > 3 and r[3] else "") for r in films}
    artist = {}
    for r in films:
        item = int(r[0])
        director = directed.get(link.get(r[0], ""))
        artist[item] = f"director {director}" if director else f"film {item}"
    return Data(
        users=users[order],
        items=items[order],
        times=times[order],
        n_users=int(users.max()) + 1,
        n_items=int(items.max()) + 1,
        genre=genre,
        artist=artist,
    )


def matrix(data: Data, mask: np.ndarray) -> sp.csr_matrix:
    return sp.csr_matrix(
        (np.ones(int(mask.sum()), np.float32), (data.users[mask], data.items[mask])),
        shape=(data.n_users, data.n_items),
    )


def evaluate(data: Data, scores: np.ndarray, train: np.ndarray, target: np.ndarray) -> tuple:
    """HR@10 and NDCG@10 of the target items among every item the user has not seen."""
    s = scores.astype(np.float64, copy=True)
    s[:, 0] = -np.inf  # no item 0
    s[data.users[train], data.items[train]] = -np.inf
    users = data.users[target]
    truth = data.items[target]
    t = s[users, truth][:, None]
    ids = np.arange(data.n_items)[None, :]
    rank = (s[users] > t).sum(1) + ((s[users] == t) & (ids < truth[:, None])).sum(1)
    hit = rank < K
    return float(hit.mean()), float(np.where(hit, 1.0 / np.log2(rank + 2.0), 0.0).mean())


def recency_matrix(data: Data, mask: np.ndarray, half_life: float | None) -> np.ndarray:
    """Users × items: 0.5 ** (position from the user's latest interaction / half_life)."""
    u, i = data.users[mask], data.items[mask]
    ends = np.r_[u[1:] != u[:-1], True]
    last_of_user = np.zeros(data.n_users, np.int64)
    last_of_user[u[ends]] = np.flatnonzero(ends)
    position = last_of_user[u] - np.arange(u.shape[0])
    out = np.zeros((data.n_users, data.n_items), np.float32)
    out[u, i] = 1.0 if half_life is None else 0.5 ** (position / half_life)
    return out


# ---- the methods: each (data, training mask, setting) -> users × items scores ----


# ---- the methods: each (data, training mask, settings) -> one users × items score matrix
# ---- per setting (batched, so settings that share a fit share it)

Method = Callable[[Data, np.ndarray, list[dict]], list[np.ndarray]]


def one_by_one(method: Callable[[Data, np.ndarray, dict], np.ndarray]) -> Method:
    return lambda data, train, settings: [method(data, train, s) for s in settings]


def shared_fit(
    fit_keys: tuple[str, ...],
    fit_fn: Callable[[Data, np.ndarray, dict], object],
    fold_fn: Callable[[Data, np.ndarray, object, dict], np.ndarray],
) -> Method:
    """A method whose settings split into fit-time keys (one fit each) and fold-time ones."""

    def method(data: Data, train: np.ndarray, settings: list[dict]) -> list[np.ndarray]:
        fitted: dict[tuple, object] = {}
        out = []
        for s in settings:
            key = tuple(s[k] for k in fit_keys)
            if key not in fitted:
                fitted[key] = fit_fn(data, train, {k: s[k] for k in fit_keys})
            out.append(fold_fn(data, train, fitted[key], s))
        return out

    return method


def popularity(data: Data, train: np.ndarray, _: dict) -> np.ndarray:
    counts = np.bincount(data.items[train], minlength=data.n_items).astype(np.float32)
    return np.tile(counts, (data.n_users, 1))


def cosine(data: Data, train: np.ndarray, setting: dict) -> np.ndarray:
    """Items × items cosine similarity, each row cut to its top ``neighbours`` (or all)."""
    x = matrix(data, train).toarray()
    gram = x.T @ x
    norms = np.sqrt(np.diag(gram))
    sim = gram / np.maximum(np.outer(norms, norms), 1e-9)
    np.fill_diagonal(sim, 0.0)
    k = setting["neighbours"]
    if k is not None:
        drop = np.argpartition(-sim, k, axis=1)[:, k:]
        np.put_along_axis(sim, drop, 0.0, axis=1)
    return sim


def item_knn(data: Data, train: np.ndarray, setting: dict) -> np.ndarray:
    return matrix(data, train).toarray() @ cosine(data, train, setting)


def transitions(data: Data, mask: np.ndarray) -> np.ndarray:
    """Items × items: row-normalised counts of "the user's next item after i was j"."""
    u, i = data.users[mask], data.items[mask]
    same = u[1:] == u[:-1]
    counts = np.zeros((data.n_items, data.n_items), np.float32)
    np.add.at(counts, (i[:-1][same], i[1:][same]), 1.0)
    return counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)


def knn_fit(data: Data, train: np.ndarray, setting: dict) -> object:
    return cosine(data, train, setting), transitions(data, train)


def knn_fold(data: Data, train: np.ndarray, fitted: object, setting: dict) -> np.ndarray:
    """Item-kNN over a recency-weighted history plus a first-order transition term."""
    sim, step = fitted  # type: ignore[misc]
    history = recency_matrix(data, train, setting["recency_half_life"])
    return history @ (sim + setting["transition_weight"] * step)


def implicit_fit(data: Data, train: np.ndarray, setting: dict) -> object:
    from implicit.cpu.als import AlternatingLeastSquares

    model = AlternatingLeastSquares(
        factors=64,
        regularization=setting["regularization"],
        alpha=setting["alpha"],
        iterations=15,
        random_state=0,
    )
    model.fit(matrix(data, train), show_progress=False)
    return model


def implicit_fold(data: Data, train: np.ndarray, model: object, setting: dict) -> np.ndarray:
    """ALS's own user factors, or (with a half-life) each user re-solved by implicit's
    ``recalculate_user`` from a recency-weighted history: the fold-in QFZZ's model does."""
    if "recency_half_life" not in setting:
        return np.asarray(model.user_factors @ model.item_factors.T)  # type: ignore[attr-defined]
    weighted = sp.csr_matrix(recency_matrix(data, train, setting["recency_half_life"]))
    users = np.arange(data.n_users)
    factors = model.recalculate_user(users, weighted)  # type: ignore[attr-defined]
    return np.asarray(factors @ model.item_factors.T)  # type: ignore[attr-defined]


def ease_fit(data: Data, train: np.ndarray, setting: dict) -> object:
    x = matrix(data, train).toarray()
    gram = (x.T @ x).astype(np.float64)
    gram[np.diag_indices_from(gram)] += setting["lambda"]
    p = np.linalg.inv(gram)
    b = -p / np.diag(p)
    np.fill_diagonal(b, 0.0)
    return b.astype(np.float32)


def ease_fold(data: Data, train: np.ndarray, b: object, setting: dict) -> np.ndarray:
    return recency_matrix(data, train, setting["recency_half_life"]) @ b  # type: ignore[operator]


FIT_KEYS = ("regularization", "alpha")


def collab_fit(data: Data, train: np.ndarray, setting: dict) -> CollabModel:
    return fit(
        data.users[train],
        data.items[train],
        np.full(int(train.sum()), 0.05),  # every rating one QFZZ play
        data.times[train],
        CollabParams(**setting),
    )


def collab_fold(data: Data, train: np.ndarray, model: object, setting: dict) -> np.ndarray:
    """Every user folded in through the model's ``scores``, one request at a time."""
    assert isinstance(model, CollabModel)
    tuned = model.with_params(
        alpha=setting["alpha"], recency_half_life=setting["recency_half_life"]
    )
    out = np.zeros((data.n_users, data.n_items), np.float32)
    u, i, t = data.users[train], data.items[train], data.times[train]
    bounds = np.flatnonzero(np.r_[True, u[1:] != u[:-1], True])
    for start, stop in itertools.pairwise(bounds):
        history = [(int(i[k]), 0.05, float(t[k])) for k in range(start, stop)]
        out[u[start], tuned.item_ids] = tuned.scores(history, now=float(t[stop - 1]))
    return out


def dj_lists(data: Data, train: np.ndarray, setting: dict) -> dict[int, list[int]]:
    """The QFZZ DJ as the station serves it: a catalog index of the films (genre, director
    as artist), each listener's profile learned from their training interactions (each
    rating one play, in time order), the collaborative model fitted on everyone's, and
    ``PersonalizedDJ.recommend(profile, 10, familiarity=…)`` — the served list, not a score
    matrix."""
    ids = list(range(1, data.n_items))
    index = CatalogIndex().extended(
        ids,
        [data.artist.get(i, f"film {i}") for i in ids],
        [data.genre.get(i) or None for i in ids],
        [None] * len(ids),
        [None] * len(ids),
        [None] * len(ids),
        [True] * len(ids),
        np.bincount(data.items[train], minlength=data.n_items)[1:].tolist(),
    )
    model = collab_fit(data, train, {"regularization": CollabParams().regularization})
    collaborative = Collaborative(setting["collab_weight"], setting["artist_weight"])
    dj = PersonalizedDJ(index, collaborative=collaborative)
    u, i, t = data.users[train], data.items[train], data.times[train]
    artists = collaborative.artist_items(index, i)  # as the station's trainer fits it
    # the artist model and its weight chosen on held-out training plays, as the trainer
    # does (the track model is the one tuned above)
    models = fit_taste(u, i, artists, np.full(i.shape[0], 0.05), t)
    collaborative.install(model, models.artists, models.artist_weight)
    if setting["artist_weight"] is None:
        print(f"  the fit chose artist weight {models.artist_weight} ({models.ranks})")
    bounds = np.flatnonzero(np.r_[True, u[1:] != u[:-1], True])
    lists = {}
    for start, stop in itertools.pairwise(bounds):
        user = int(u[start])
        profile = ListenerProfile.from_preferences(
            str(user), ListenerPreferences(discovery_factor=setting["discovery"])
        )
        for k in range(start, stop):
            row = index.row_of(int(i[k]))
            interaction = Interaction(str(user), int(i[k]), InteractionType.PLAY, None, t[k])
            profile.apply(interaction, index.features(row))
        picks = dj.recommend(profile, K, now=float(t[stop - 1]), familiarity=setting["familiarity"])
        lists[user] = [r.track_id for r in picks]
    return lists


def evaluate_lists(data: Data, lists: dict[int, list[int]], target: np.ndarray) -> tuple:
    """HR@10 and NDCG@10 of the target items in each listener's served list."""
    hits, gains = [], []
    for user, truth in zip(data.users[target], data.items[target], strict=True):
        served = lists.get(int(user), [])
        rank = served.index(int(truth)) if int(truth) in served else None
        hits.append(rank is not None)
        gains.append(0.0 if rank is None else 1.0 / np.log2(rank + 2.0))
    return float(np.mean(hits)), float(np.mean(gains))


def tune_dj(name: str, data: Data, settings: list[dict]) -> Result:
    """As :func:`tune`, for the served DJ (its collaborative weight chosen on validation)."""
    start = time.perf_counter()
    train, valid, test = data.masks()
    metrics = [evaluate_lists(data, dj_lists(data, train, s), valid) for s in settings]
    best = max(range(len(settings)), key=lambda k: (metrics[k][1], metrics[k][0]))
    train_all = train | valid
    result = evaluate_lists(data, dj_lists(data, train_all, settings[best]), test)
    return Result(name, settings[best], metrics[best], result, time.perf_counter() - start)


def grid(**axes: Iterable) -> list[dict]:
    names = list(axes)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*axes.values())]


@dataclass
class Result:
    name: str
    setting: dict
    valid: tuple[float, float]
    test: tuple[float, float]
    seconds: float


def tune(name: str, data: Data, method: Method, settings: list[dict]) -> Result:
    """Choose by validation NDCG@10 (trained on training only), then retrain on training +
    validation with the chosen setting and score the test items once."""
    start = time.perf_counter()
    train, valid, test = data.masks()
    metrics = [evaluate(data, s, train, valid) for s in method(data, train, settings)]
    best = max(range(len(settings)), key=lambda k: (metrics[k][1], metrics[k][0]))
    train_all = train | valid
    result = evaluate(data, method(data, train_all, [settings[best]])[0], train_all, test)
    return Result(name, settings[best], metrics[best], result, time.perf_counter() - start)


def synthetic(n_items: int, n_users: int, per_user: int) -> tuple[np.ndarray, np.ndarray]:
    """Listeners in 200 scenes of taste, Zipf popularity inside a scene, 20 % random plays."""
    rng = np.random.default_rng(0)
    scene_of_item = rng.integers(0, 200, n_items)
    by_scene = [np.flatnonzero(scene_of_item == s) for s in range(200)]
    users, items = [], []
    for user in range(n_users):
        pool = by_scene[rng.integers(0, 200)]
        weights = 1.0 / np.arange(1, pool.shape[0] + 1)
        chosen = np.r_[
            rng.choice(pool, per_user, p=weights / weights.sum()),
            rng.integers(0, n_items, per_user // 5),
        ]
        users.append(np.full(chosen.shape[0], user))
        items.append(chosen)
    return np.concatenate(users), np.concatenate(items)


def cost(setting: dict, n_items: int, n_users: int, per_user: int) -> str:
    u, i = synthetic(n_items, n_users, per_user)
    t = np.arange(u.shape[0], dtype=np.float64)
    tracemalloc.start()
    start = time.perf_counter()
    model = fit(u, i, np.full(u.shape[0], 0.05), t, CollabParams(**setting))
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    history = [(int(x), 0.05, float(k)) for k, x in enumerate(i[:200])]
    fold = []
    for _ in range(20):
        began = time.perf_counter()
        model.scores(history, now=1e9)
        fold.append(time.perf_counter() - began)
    return (
        f"synthetic {n_items:,} items, {n_users:,} listeners, {u.shape[0]:,} plays: fit "
        f"{seconds:.1f} s (peak {peak / 1e6:.0f} MB traced), model {model.nbytes() / 1e6:.1f} MB "
        f"({model.nbytes() / model.n_items:.0f} bytes/item), scores() for a 200-play history "
        f"{float(np.median(fold)) * 1e3:.1f} ms (p50); EASE there would need a dense "
        f"{n_items**2 * 4 / 1e9:.0f} GB float32 items² matrix"
    )


def fmt(setting: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in setting.items()) or "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "qfzz-bench")
    parser.add_argument("--scale-items", type=int, default=100_000, help="0: skip")
    parser.add_argument("--scale-users", type=int, default=50_000)
    args = parser.parse_args()
    data = load(args.cache)
    train, valid, test = data.masks()
    directors = {a for a in data.artist.values() if a.startswith("director")}
    with_director = sum(a.startswith("director") for a in data.artist.values())
    print(
        f"MovieLens-100k: {data.users.shape[0]:,} interactions, {np.unique(data.users).size} "
        f"users, {len(data.genre):,} films ({len(set(data.genre.values()))} genres; "
        f"{with_director:,} with a director in the knowledge graph, {len(directors):,} "
        f"directors); {int(train.sum()):,} training, {int(valid.sum())} validation, "
        f"{int(test.sum())} test interactions"
    )
    print()
    recency = [1.0, 2.0, 5.0, 10.0, None]
    results = [
        tune("popularity", data, one_by_one(popularity), [{}]),
        tune(
            "item-kNN (cosine)",
            data,
            one_by_one(item_knn),
            grid(neighbours=[20, 50, 100, 200, None]),
        ),
        tune(
            "implicit ALS (64 factors)",
            data,
            shared_fit(FIT_KEYS, implicit_fit, implicit_fold),
            grid(regularization=[0.1, 1.0, 10.0, 30.0, 100.0], alpha=[0.5, 1.0, 2.0, 5.0, 20.0]),
        ),
        tune(
            "EASE (λ)",
            data,
            shared_fit(("lambda",), ease_fit, ease_fold),
            grid(**{"lambda": [50, 100, 250, 500, 1000], "recency_half_life": [None]}),
        ),
        tune(
            "EASE + recency-weighted history",
            data,
            shared_fit(("lambda",), ease_fit, ease_fold),
            grid(**{"lambda": [100, 250, 500, 1000], "recency_half_life": recency}),
        ),
        tune(
            "item-kNN + recency + transitions",
            data,
            shared_fit(("neighbours",), knn_fit, knn_fold),
            grid(
                neighbours=[50, 100, None],
                recency_half_life=recency[:4],
                transition_weight=[0.0, 5.0, 10.0, 20.0],
            ),
        ),
        tune(
            "implicit ALS + recency fold-in",
            data,
            shared_fit(FIT_KEYS, implicit_fit, implicit_fold),
            grid(regularization=[1.0, 10.0, 30.0], alpha=[1.0, 5.0], recency_half_life=recency),
        ),
        tune_dj(
            "QFZZ DJ served (familiarity 0)",
            data,
            grid(
                collab_weight=[1.0, 2.0, 4.0],
                artist_weight=[0.0, 0.5, 1.0, None],  # None: the weight the fit chose
                discovery=[0.0],
                familiarity=[0.0],
            ),
        ),
        tune_dj(
            "QFZZ DJ served (defaults 0.2/0.2)",
            data,
            grid(
                collab_weight=[W_COLLAB],
                artist_weight=[None],
                discovery=[0.2],
                familiarity=[0.2],
            ),
        ),
        tune(
            "QFZZ collab (qfzz.dj._collab)",
            data,
            shared_fit(("regularization",), collab_fit, collab_fold),
            grid(
                regularization=[0.01, 0.03, 0.06, 0.12, 0.25],  # × σ₁ (≈ 170 here)
                alpha=[1.0, 5.0],
                recency_half_life=recency,
            ),
        ),
    ]
    print(
        f"{'method':<34} {'HR@10':>6} {'NDCG@10':>8}   {'valid HR':>8} {'valid NDCG':>10} "
        f"{'tune s':>7}   chosen on validation"
    )
    for r in results:
        print(
            f"{r.name:<34} {r.test[0]:6.3f} {r.test[1]:8.3f}   {r.valid[0]:8.3f} "
            f"{r.valid[1]:10.3f} {r.seconds:7.1f}   {fmt(r.setting)}"
        )
    served, defaults, ours = results[-3], results[-2], results[-1]
    baselines = results[:3]
    best = max(baselines, key=lambda r: r.test[1])
    ahead = all(served.test[0] > r.test[0] and served.test[1] > r.test[1] for r in baselines)
    print()
    print(
        f"targets (test): the served QFZZ DJ HR@10 {served.test[0]:.3f} (≥ {TARGET_HR}: "
        f"{'met' if served.test[0] >= TARGET_HR else 'NOT met'}), NDCG@10 {served.test[1]:.3f} "
        f"(≥ {TARGET_NDCG}: {'met' if served.test[1] >= TARGET_NDCG else 'NOT met'}), ahead of "
        f"every baseline (best: {best.name}, {best.test[0]:.3f} / {best.test[1]:.3f}): "
        f"{'met' if ahead else 'NOT met'}"
    )
    print(
        f"served list (familiarity 0) vs the model's own ranking: HR@10 {served.test[0]:.3f} vs "
        f"{ours.test[0]:.3f}, NDCG@10 {served.test[1]:.3f} vs {ours.test[1]:.3f}; with the "
        f"station's defaults (discovery 0.2, familiarity 0.2): {defaults.test[0]:.3f} / "
        f"{defaults.test[1]:.3f}"
    )

    chosen = {"regularization": ours.setting["regularization"]}
    tracemalloc.start()
    began = time.perf_counter()
    model = collab_fit(data, train | valid, chosen)
    seconds = time.perf_counter() - began
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print()
    print(
        f"QFZZ collab on ML-100k: fit {seconds:.2f} s (peak {peak / 1e6:.0f} MB traced), model "
        f"{model.nbytes() / 1e6:.2f} MB for {model.n_items:,} items"
    )
    if args.scale_items:
        print(cost(chosen, args.scale_items, args.scale_users, 40), flush=True)


if __name__ == "__main__":
    main()
