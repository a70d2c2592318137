// The personal playlist: each track with its score and the reasons for it.

import { api, paths } from "./api.js";
import { $, $$, el, formatTime } from "./dom.js";

let playing = null;

export async function loadPlaylist(user) {
  const list = $("#playlist");
  list.setAttribute("aria-busy", "true");
  try {
    const answer = await api(paths.playlist(user));
    renderPlaylist(answer.tracks);
  } finally {
    list.setAttribute("aria-busy", "false");
  }
}

/** Highlight the track on air in the list. */
export function markPlaying(trackId) {
  playing = trackId ?? null;
  for (const li of $$("#playlist > li[data-track-id]")) {
    li.toggleAttribute("aria-current", Number(li.dataset.trackId) === playing);
  }
}

function renderPlaylist(tracks) {
  const list = $("#playlist");
  if (!tracks.length) {
    list.replaceChildren(el("li", { class: "muted" }, "No playable tracks yet."));
    return;
  }
  list.replaceChildren(
    ...tracks.map((t) => {
      const facts = [t.artist, t.genre, t.mood, formatTime(t.duration)].filter(Boolean);
      const score = Math.round(t.score * 100);
      return el(
        "li",
        {
          "data-track-id": t.track_id,
          "data-score": t.score,
          "aria-current": t.track_id === playing ? "true" : null,
        },
        el(
          "div",
          { class: "track-head" },
          el("span", { class: "track-title" }, t.title),
          el("span", { class: "score", title: `score ${t.score.toFixed(3)}` }, `${score}%`),
        ),
        el("div", { class: "muted small" }, facts.join(" · ")),
        el(
          "ul",
          { class: "reasons", "aria-label": "Why this track" },
          ...t.reasons.map((r) => el("li", {}, r)),
        ),
      );
    }),
  );
}
