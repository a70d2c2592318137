"""Simulated listeners with hidden tastes: does the personal radio learn from everyone?

A catalog of 2,000 tracks (12 genres, 200 artists). Listeners belong to one of 8 *scenes*;
a scene's hidden taste is a set of 25 artists spread over every genre (so a genre says
little: what the scene likes is only learned from listening). A listener enjoys a track
with probability 0.9 when its artist is in their scene's taste, else 0.1: an enjoyed track
is played (and liked one time in three), the rest skipped. Each listener names one
random genre on sign-up.

For each track a listener hears, the real ``PersonalizedDJ`` recommends with the station's
defaults (discovery 0.2, familiarity 0.2) and the listener hears the first pick (as the
radio does after a skip, which re-chooses its queue); their profile learns from the
outcome with the real ``ListenerProfile.apply``, and a play is counted in the catalog's
popularity as the station counts it. 160 listeners take turns until each heard 100
tracks, the collaborative models being refitted after every 1,000 interactions with the
trainer's function ``fit_taste`` (the track model, the artist model on the same rows, and
the artist model's weight chosen on held-out plays); then 40 late joiners hear 20 tracks
each.

Printed side by side: the DJ with no collaborative term (it learns only from the
listener's own feedback), with the track model alone, and as QFZZ serves it (track and
artist models): the skip rate over everyone's first and last 20 tracks, and over the
late joiners' first 20. Targets: late joiners' first 20 ≤ 0.40, everyone's last 20 ≤ 0.30.

The world's scenes are sets of artists, which is what the artist model learns; a world
whose taste followed single tracks across artists would favour the track model (it is
kept, and weighted as MovieLens-100k chose, for that).

    python3 run.py bench taste [--seeds 1,2,3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from qfzz.dj import (
    W_COLLAB,
    CatalogIndex,
    Collaborative,
    ListenerProfile,
    PersonalizedDJ,
    fit_taste,
)
from qfzz.models import Interaction, InteractionType, ListenerPreferences, feedback_strength

TRACKS, GENRES, ARTISTS, SCENES, TASTE = 2000, 12, 200, 8, 25
EARLY, LATE, EARLY_TRACKS, LATE_TRACKS = 160, 40, 100, 20
REFIT_EVERY = 1000
ENJOY, DISLIKE_CHANCE = (0.9, 0.1), 0.0
TARGET_LATE, TARGET_LAST = 0.40, 0.30


def world(rng: np.random.Generator) -> tuple[CatalogIndex, np.ndarray, list[set[int]]]:
    artist_of = rng.integers(0, ARTISTS, TRACKS)
    genre_of = rng.integers(0, GENRES, TRACKS)
    ids = list(range(1, TRACKS + 1))
    index = CatalogIndex().extended(
        ids,
        [f"artist {a}" for a in artist_of],
        [f"genre {g}" for g in genre_of],
        [None] * TRACKS,
        [float(e) for e in rng.random(TRACKS)],
        [float(t) for t in rng.uniform(70, 170, TRACKS)],
        [True] * TRACKS,
    )
    tastes = [set(rng.choice(ARTISTS, TASTE, replace=False).tolist()) for _ in range(SCENES)]
    return index, artist_of, tastes


def run(seed: int, weight: float, artist_weight: float | None) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    index, artist_of, tastes = world(rng)
    collaborative = Collaborative(weight, artist_weight)
    dj = PersonalizedDJ(index, seed=seed, collaborative=collaborative)
    log: list[tuple[int, int, float, float]] = []  # user, track, strength, when
    skips: dict[int, list[bool]] = {}
    listeners: dict[int, tuple[ListenerProfile, int]] = {}
    clock = [0.0]
    since_fit = [0]

    def join(user: int) -> None:
        genre = f"genre {int(rng.integers(0, GENRES))}"
        prefs = ListenerPreferences(genres={genre: 0.8})
        listeners[user] = (ListenerProfile.from_preferences(str(user), prefs), user % SCENES)
        skips[user] = []

    def listen(user: int) -> None:
        profile, scene = listeners[user]
        clock[0] += 60.0
        now = clock[0]
        picks = dj.recommend(profile, 10, now=now, familiarity=0.2)
        track = picks[0].track_id
        enjoyed = rng.random() < ENJOY[0 if int(artist_of[track - 1]) in tastes[scene] else 1]
        kinds = [InteractionType.PLAY if enjoyed else InteractionType.SKIP]
        if enjoyed and rng.random() < 1 / 3:
            kinds.append(InteractionType.LIKE)
        for kind in kinds:
            interaction = Interaction(str(user), track, kind, None, now)
            profile.apply(interaction, index.features(index.row_of(track)))
            log.append((user, track, feedback_strength(kind), now))
        if enjoyed:
            dj.catalog.add_plays([track])
        skips[user].append(not enjoyed)
        since_fit[0] += len(kinds)
        if (weight > 0 or artist_weight != 0) and since_fit[0] >= REFIT_EVERY:
            users, items, strengths, stamps = (np.asarray(c) for c in zip(*log, strict=True))
            artists = collaborative.artist_items(index, items)
            models = fit_taste(users, items, artists, strengths, stamps, track_weight=weight)
            collaborative.install(models.tracks, models.artists, models.artist_weight)
            since_fit[0] = 0

    for user in range(EARLY):
        join(user)
    for _ in range(EARLY_TRACKS):
        for user in range(EARLY):
            listen(user)
    for user in range(EARLY, EARLY + LATE):
        join(user)
        for _ in range(LATE_TRACKS):
            listen(user)

    early = [skips[u] for u in range(EARLY)]
    late = [skips[u] for u in range(EARLY, EARLY + LATE)]
    return {
        "first 20": float(np.mean([s[:20] for s in early])),
        "last 20": float(np.mean([s[-20:] for s in early])),
        "late joiners' first 20": float(np.mean([s[:20] for s in late])),
        "first listener's first 20": float(np.mean(early[0][:20])),
        "artist weight (last fit)": collaborative.artist_weight,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="1,2,3", help="worlds to average over")
    args = parser.parse_args()
    seeds = [int(seed) for seed in args.seeds.split(",")]
    print(
        f"{EARLY} listeners × {EARLY_TRACKS} tracks, then {LATE} late joiners × {LATE_TRACKS}; "
        f"{SCENES} scenes of {TASTE} artists of {ARTISTS}; {TRACKS:,} tracks, {GENRES} genres; "
        f"mean of {len(seeds)} worlds (seeds {args.seeds})"
    )
    variants = (
        ("own feedback only", 0.0, 0.0),
        ("track model only", W_COLLAB, 0.0),
        ("with everyone (QFZZ)", W_COLLAB, None),  # the artist weight each fit chose
    )
    runs: dict[str, list[dict[str, float]]] = {}
    for name, weight, artist_weight in variants:
        began = time.perf_counter()
        runs[name] = [run(seed, weight, artist_weight) for seed in seeds]
        print(f"  ran {name} in {time.perf_counter() - began:.1f} s")
    results = {
        name: {k: float(np.mean([r[k] for r in rs])) for k in rs[0]} for name, rs in runs.items()
    }
    print()
    print(f"{'skip rate':<28}" + "".join(f"{name:>24}" for name in results))
    for row in next(iter(results.values())):
        print(f"{row:<28}" + "".join(f"{r[row]:>24.3f}" for r in results.values()))
    print()
    late_key, weight_key = "late joiners' first 20", "artist weight (last fit)"
    for seed, r in zip(seeds, runs["with everyone (QFZZ)"], strict=True):
        print(
            f"  QFZZ, seed {seed}: last 20 {r['last 20']:.3f}, late joiners' first 20 "
            f"{r[late_key]:.3f}, artist weight {r[weight_key]}"
        )
    ours = results["with everyone (QFZZ)"]
    late, last = ours["late joiners' first 20"], ours["last 20"]
    print()
    print(
        f"targets (mean): late joiners' first 20 {late:.3f} (≤ {TARGET_LATE}: "
        f"{'met' if late <= TARGET_LATE else 'NOT met'}), everyone's last 20 {last:.3f} "
        f"(≤ {TARGET_LAST}: {'met' if last <= TARGET_LAST else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
