// The two streams (your radio and the shared station): play and stop, what is on air and
// what was, the trust score of the current track, and the feedback buttons.

import { api, paths } from "./api.js";
import { deviceId } from "./device.js";
import { $, $$, clock, el, formatTime } from "./dom.js";
import { openStream } from "./stream.js";

/** Filled by setUpPlayer: user(), streamToken(), action(fn), say(), showError(),
 * afterFeedback(), afterSkip(track), onTrack(mount, track, changed). */
let ctx = null;
/** Panels by mount ("personal", "main"). */
export const panels = {};
const trustLookups = new Map();

export function setUpPlayer(context) {
  ctx = context;
  for (const root of $$('[role="tabpanel"]')) {
    const panel = makePanel(root);
    panels[panel.mount] = panel;
  }
  setUpMediaSession();
  return panels;
}

export function stopAll() {
  for (const panel of Object.values(panels)) stop(panel);
}

function makePanel(root) {
  root.append($("#panel-template").content.cloneNode(true));
  const mount = root.dataset.mount;
  const panel = {
    mount,
    root,
    audio: $("audio", root),
    playButton: $(".play", root),
    track: null,
    playing: false,
    stream: null,
    onAir: null, // "track id@started_at" of the last announcement
    leaving: null, // the same for a track just skipped
  };
  const label = mount === "personal" ? "your radio" : "the station";
  $(".stars", root).setAttribute("aria-label", `Rate the track playing on ${label}`);
  $(".feedback", root).setAttribute("aria-label", `Tell the DJ about the track on ${label}`);
  $(".history", root).setAttribute("aria-label", `Recently played on ${label}`);
  panel.audio.setAttribute("aria-label", mount === "personal" ? "Your radio" : "Station");
  if (mount !== "personal") $(".skip", root).remove();
  else $(".skip", root).addEventListener("click", () => ctx.action(() => skip(panel)));

  panel.playButton.addEventListener("click", () =>
    ctx.action(() => (panel.playing ? stop(panel) : play(panel))),
  );
  for (const button of $$("[data-feedback]", root)) {
    button.addEventListener("click", () =>
      ctx.action(() => feedback(panel, button.dataset.feedback)),
    );
  }
  for (const button of $$("[data-stars]", root)) {
    const stars = Number(button.dataset.stars);
    button.addEventListener("click", () => ctx.action(() => rate(panel, stars)));
  }
  panel.audio.addEventListener("timeupdate", () => {
    $(".meter", root).textContent = formatTime(panel.audio.currentTime);
  });
  panel.audio.addEventListener("ended", () => stop(panel));
  panel.audio.addEventListener("error", () => {
    if (!panel.playing) return;
    stop(panel);
    ctx.showError("The stream stopped. Press Play to listen again.");
  });
  return panel;
}

async function play(panel) {
  for (const other of Object.values(panels)) if (other !== panel) stop(other);
  const token = await ctx.streamToken();
  const base = panel.mount === "personal" ? token.personal_stream : token.shared_stream;
  const url = `${base}&device_id=${encodeURIComponent(deviceId())}`;
  setPlaying(panel, true);
  const stream = openStream(panel.audio, url, (error) => {
    if (panel.stream !== stream) return;
    stop(panel);
    ctx.showError(error);
  });
  panel.stream = stream;
  try {
    await panel.audio.play();
  } catch (error) {
    if (panel.stream !== stream) return; // stopped (or restarted) before it sounded
    stop(panel);
    throw new Error(`The browser would not play the stream: ${error.message}`);
  }
}

function stop(panel) {
  if (!panel.playing) return;
  setPlaying(panel, false);
  const stream = panel.stream;
  panel.stream = null;
  stream?.close();
  $(".meter", panel.root).textContent = "";
}

function setPlaying(panel, playing) {
  panel.playing = playing;
  panel.playButton.textContent = playing ? "Pause" : "Play";
  panel.playButton.setAttribute("aria-pressed", String(playing));
  panel.root.classList.toggle("is-playing", playing);
  updateTitle();
}

function updateTitle() {
  const panel = Object.values(panels).find((p) => p.playing);
  document.title = panel?.track ? `▶ ${panel.track.title} – QFZZ` : "QFZZ radio";
  if (!("mediaSession" in navigator)) return;
  // The lock screen and headset buttons of a phone: title, play/pause, next = skip.
  const session = navigator.mediaSession;
  session.playbackState = panel ? "playing" : "paused";
  if (panel?.track && typeof MediaMetadata === "function") {
    const { title, artist, album } = panel.track;
    session.metadata = new MediaMetadata({ title, artist, album: album || "QFZZ" });
  }
}

function setUpMediaSession() {
  const session = navigator.mediaSession;
  if (!session) return;
  const last = () => Object.values(panels).find((p) => p.playing) || panels.personal;
  const handlers = {
    play: () => ctx.action(() => play(last())),
    pause: () => ctx.action(() => stop(last())),
    nexttrack: () => ctx.action(() => skip(panels.personal)),
  };
  for (const [name, handler] of Object.entries(handlers)) {
    try {
      session.setActionHandler(name, handler);
    } catch {
      // this browser does not offer that action
    }
  }
}

async function skip(panel) {
  const leaving = panel.onAir;
  const answer = await api(paths.skip(ctx.user()), { method: "POST" });
  // Until the next track is announced, the skipped one is not the target of feedback
  // (a "like" pressed right after a skip must not land on the skipped track).
  if (panel.onAir === leaving) {
    panel.leaving = leaving;
    panel.track = null;
    $(".title", panel.root).textContent = "Next track…";
    $(".artist", panel.root).textContent = "";
  }
  ctx.say(answer.skipped ? `Skipped “${answer.skipped.title}”.` : "Skipped.");
  await ctx.afterSkip(answer.skipped);
}

export function showNow(panel, data) {
  const onAir = `${data.track?.track_id ?? ""}@${data.started_at}`;
  if (onAir === panel.leaving) return; // the skipped track, announced before the cut
  const changed = onAir !== panel.onAir;
  panel.leaving = null;
  panel.onAir = onAir;
  panel.track = data.track;
  const title = $(".title", panel.root);
  const artist = $(".artist", panel.root);
  title.textContent = data.track ? data.track.title : "Nothing yet";
  artist.textContent = data.track ? ` — ${data.track.artist}` : "";
  if (panel.root.dataset.trackId !== String(data.track?.track_id ?? "")) {
    for (const star of $$("[data-stars]", panel.root)) star.setAttribute("aria-pressed", "false");
  }
  panel.root.dataset.trackId = data.track ? data.track.track_id : "";
  ctx.onTrack?.(panel.mount, data.track, changed);
  updateTitle();
  showTrust(panel, data.track);
}

export function showHistory(panel, data) {
  const list = $(".history", panel.root);
  if (!data.tracks.length) {
    list.replaceChildren(el("li", { class: "muted" }, "Nothing yet"));
    return;
  }
  list.replaceChildren(
    ...data.tracks.map((item) =>
      el(
        "li",
        { "data-track-id": item.track.track_id },
        el("time", { class: "muted small" }, clock(item.started_at)),
        " ",
        el("span", {}, item.track.title),
        el("span", { class: "muted" }, ` — ${item.track.artist}`),
      ),
    ),
  );
}

async function showTrust(panel, track) {
  const line = $(".trust", panel.root);
  if (!track) {
    line.textContent = "Trust: –";
    return;
  }
  const id = track.track_id;
  if (!trustLookups.has(id)) {
    const lookup = api(paths.track(id)).then((t) =>
      t.content_id && t.creator_id ? api(paths.trust(t.content_id, t.creator_id)) : null,
    );
    trustLookups.set(id, lookup);
    lookup.catch(() => trustLookups.delete(id));
  }
  try {
    const trust = await trustLookups.get(id);
    if (panel.track?.track_id !== id) return; // the track changed meanwhile
    line.textContent = trust
      ? `Trust ${trust.score.toFixed(2)} · ${trust.verifications} verified · ${trust.reports} reported`
      : "Trust: no content id for this track";
    line.dataset.score = trust ? trust.score : "";
  } catch (error) {
    line.textContent = `Trust: unavailable (${error.message})`;
  }
}

// -- feedback ------------------------------------------------------------------------------

const DONE = { like: "Liked", dislike: "Disliked", favorite: "Added to favorites:" };

function current(panel) {
  if (panel.track) return panel.track;
  if (panel.leaving) throw new Error("The next track is starting: try again in a moment.");
  throw new Error("Nothing is playing on this stream yet: press Play first.");
}

async function feedback(panel, type) {
  const track = current(panel);
  await api(paths.interactions(ctx.user()), {
    method: "POST",
    body: { track_id: track.track_id, type },
  });
  await ctx.afterFeedback();
  ctx.say(`${DONE[type]} “${track.title}”. Your playlist is updated.`);
}

async function rate(panel, stars) {
  const track = current(panel);
  await api(paths.interactions(ctx.user()), {
    method: "POST",
    body: { track_id: track.track_id, type: "rate", rating: (stars - 1) / 4 },
  });
  for (const star of $$("[data-stars]", panel.root)) {
    star.setAttribute("aria-pressed", String(Number(star.dataset.stars) <= stars));
  }
  await ctx.afterFeedback();
  ctx.say(`Rated “${track.title}” ${stars} of 5.`);
}
