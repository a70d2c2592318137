// "Up next": the DJ's playlist for the listener, each track with its score and reasons,
// less what the listener already heard.
//
// The playlist endpoint answers the DJ's current ranking of the catalog, not the radio's
// queue: it still holds the track on air (a play is recorded only when a track ends),
// and a skipped track is only mildly penalised, so it may rank high again. The page
// knows better what was heard (now playing and history arrive over SSE, skips are
// answered here), drops those tracks, and reloads after every skip and track change.

import { api, paths } from "./api.js";
import { $, el, formatTime } from "./dom.js";

/** As many heard tracks as the DJ remembers as recently played. */
const HEARD_LIMIT = 50;

const state = {
  user: null,
  onAir: null,
  heard: new Map(), // track id → true, oldest first (a Map keeps insertion order)
  tracks: null, // the last answer, kept to re-filter without asking again
  running: null,
  again: false,
};

/** A new listener signed in (or out): forget what the last one heard. */
export function resetPlaylist(user) {
  state.user = user;
  state.onAir = null;
  state.heard.clear();
  state.tracks = null;
  $("#playlist").replaceChildren();
}

/** Tracks heard (played, skipped or on air earlier): never shown as up next again. */
export function markHeard(trackIds) {
  for (const id of trackIds) {
    if (id == null) continue;
    state.heard.delete(id);
    state.heard.set(id, true);
  }
  while (state.heard.size > HEARD_LIMIT) state.heard.delete(state.heard.keys().next().value);
  if (state.tracks) renderPlaylist(state.tracks);
}

/** The track now on air on the listener's stream (or null); it is not "up next". */
export function markOnAir(trackId) {
  if (state.onAir != null && state.onAir !== trackId) markHeard([state.onAir]);
  state.onAir = trackId ?? null;
  if (state.tracks) renderPlaylist(state.tracks);
}

/** Ask for the playlist; calls made while one is loading share one more load after it. */
export function loadPlaylist() {
  if (state.running) {
    state.again = true;
    return state.running;
  }
  state.running = (async () => {
    const list = $("#playlist");
    list.setAttribute("aria-busy", "true");
    try {
      do {
        state.again = false;
        const user = state.user;
        const answer = await api(paths.playlist(user));
        if (user !== state.user) return; // signed out meanwhile
        state.tracks = answer.tracks;
        renderPlaylist(answer.tracks);
      } while (state.again);
    } finally {
      list.setAttribute("aria-busy", "false");
      state.running = null;
    }
  })();
  return state.running;
}

function renderPlaylist(tracks) {
  const list = $("#playlist");
  const next = tracks.filter((t) => t.track_id !== state.onAir && !state.heard.has(t.track_id));
  if (!next.length) {
    const text = tracks.length
      ? "Everything the DJ picked was heard recently; more comes as you listen."
      : "No playable tracks yet.";
    list.replaceChildren(el("li", { class: "muted" }, text));
    return;
  }
  list.replaceChildren(
    ...next.map((t) => {
      const facts = [t.artist, t.genre, t.mood, formatTime(t.duration)].filter(Boolean);
      const score = Math.round(t.score * 100);
      return el(
        "li",
        { "data-track-id": t.track_id, "data-score": t.score },
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
