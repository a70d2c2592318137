// Play on demand: a queue of songs through one <audio>, with next, previous, reorder and
// clear, and the Media Session API (lock screen, headset and keyboard media keys). What
// the listener does here reaches the DJ as it does on the radio: a song heard to the end
// is a play (Subsonic scrobble), one left before half of it is a skip.

import { api, paths } from "./api.js";
import { $, el, formatTime } from "./dom.js";
import { stopAll } from "./player.js";
import { mediaUrl, sub, trackNumber } from "./subsonic.js";

const state = { items: [], index: -1, reported: false, context: null };
/** Before this share of a song, moving on is a skip. */
const SKIP_BEFORE = 0.5;

const audio = () => $("#od-audio");

export function setUpQueue(context) {
  state.context = context;
  const player = audio();
  player.addEventListener("play", () => stopAll()); // one thing plays at a time
  // The radio's players start with their own Play button: on-demand listening pauses.
  document.addEventListener(
    "play",
    (event) => event.target !== player && event.target.tagName === "AUDIO" && player.pause(),
    true,
  );
  player.addEventListener("ended", () => context.action(() => finished(), { quiet: true }));
  player.addEventListener("error", () => {
    if (player.getAttribute("src")) context.showError("This song cannot be played here.");
  });
  $("#od-next").addEventListener("click", () => context.action(() => next()));
  $("#od-prev").addEventListener("click", () => context.action(() => previous()));
  $("#od-clear").addEventListener("click", () => clear());
  if ("mediaSession" in navigator) {
    const session = navigator.mediaSession;
    const handlers = {
      play: () => player.play(),
      pause: () => player.pause(),
      nexttrack: () => context.action(() => next()),
      previoustrack: () => context.action(() => previous()),
      seekto: (details) => {
        player.currentTime = details.seekTime;
      },
    };
    for (const [name, handler] of Object.entries(handlers)) {
      try {
        session.setActionHandler(name, handler);
      } catch {
        // an action this browser does not know
      }
    }
  }
  render();
}

/** Replace the queue with `songs` and play the one at `start`. */
export async function playNow(songs, start = 0) {
  state.items = songs.slice();
  state.index = start;
  await load();
}

/** Add `songs` after what is queued (and play them when nothing was). */
export async function enqueue(songs) {
  state.items.push(...songs);
  if (state.index < 0) {
    state.index = 0;
    await load();
  } else {
    render();
  }
}

export function clear() {
  const player = audio();
  player.pause();
  player.removeAttribute("src");
  player.load();
  state.items = [];
  state.index = -1;
  render();
}

async function next() {
  await leaving();
  if (state.index + 1 >= state.items.length) return;
  state.index += 1;
  await load();
}

async function previous() {
  const player = audio();
  if (player.currentTime > 5 || state.index <= 0) {
    player.currentTime = 0; // as every player does: first back to the start
    return;
  }
  await leaving();
  state.index -= 1;
  await load();
}

/** Moving on from the current song: before half of it, the DJ hears a skip. */
async function leaving() {
  const song = state.items[state.index];
  const player = audio();
  // A transcoded stream has no known duration in the browser: the song's own then.
  const length = Number.isFinite(player.duration) ? player.duration : song?.duration;
  if (!song || state.reported || !length) return;
  if (player.currentTime / length < SKIP_BEFORE) {
    state.reported = true;
    await api(paths.interactions(state.context.user()), {
      method: "POST",
      body: { track_id: trackNumber(song.id), type: "skip" },
    });
  }
}

/** Heard to the end: a play for the DJ, then the next song. */
async function finished() {
  const song = state.items[state.index];
  if (song && !state.reported) {
    state.reported = true;
    await sub("scrobble", { id: song.id, submission: "true" });
  }
  if (state.index + 1 < state.items.length) {
    state.index += 1;
    await load();
  } else {
    render();
  }
}

async function load() {
  const song = state.items[state.index];
  if (!song) return;
  const player = audio();
  const { token } = await state.context.streamToken();
  // The file itself when this browser plays its format (seekable, byte ranges); else MP3.
  const raw = song.contentType && player.canPlayType(song.contentType) !== "";
  player.src = mediaUrl("stream", { id: song.id, format: raw ? "raw" : "mp3" }, token);
  state.reported = false;
  render(token);
  try {
    await player.play();
  } catch (error) {
    if (error.name !== "AbortError") throw error; // a newer choice interrupted this one
  }
  sub("scrobble", { id: song.id, submission: "false" }).catch(() => {}); // now playing
}

function moveBy(from, step) {
  const to = from + step;
  if (to < 0 || to >= state.items.length) return;
  const [song] = state.items.splice(from, 1);
  state.items.splice(to, 0, song);
  if (state.index === from) state.index = to;
  else if (state.index === to) state.index = from;
  render();
  $(`#queue > li:nth-child(${to + 1}) [data-move="${step}"]`)?.focus();
}

function remove(position) {
  if (position === state.index) {
    audio().pause();
    state.items.splice(position, 1);
    if (state.index >= state.items.length) state.index = state.items.length - 1;
    state.context.action(() => (state.index >= 0 ? load() : render()));
    return;
  }
  state.items.splice(position, 1);
  if (position < state.index) state.index -= 1;
  render();
}

function render(token) {
  const song = state.items[state.index];
  $("#od-title").textContent = song ? song.title : "Nothing queued";
  $("#od-artist").textContent = song
    ? [song.artist, song.album].filter(Boolean).join(" · ")
    : "Play an album or a song from the library";
  const cover = $("#od-cover");
  if (song && token) {
    cover.src = mediaUrl("getCoverArt", { id: song.coverArt || song.id, size: 144 }, token);
    cover.hidden = false;
  } else if (!song) {
    cover.hidden = true;
  }
  if (song && "mediaSession" in navigator && token) {
    navigator.mediaSession.metadata = new MediaMetadata({
      title: song.title,
      artist: song.artist || "",
      album: song.album || "",
      artwork: [
        {
          src: mediaUrl("getCoverArt", { id: song.coverArt || song.id, size: 512 }, token),
          sizes: "512x512",
        },
      ],
    });
  }
  const list = $("#queue");
  list.replaceChildren(
    ...state.items.map((item, i) => {
      const where = `${item.title}, ${i + 1} of ${state.items.length}`;
      return el(
        "li",
        { "data-song-id": item.id, "aria-current": i === state.index ? "true" : false },
        el("span", { class: "label" }, `${item.title} `, el("span", { class: "muted" },
          `${item.artist ?? ""} ${formatTime(item.duration)}`)),
        button("↑", `Move ${where} up`, () => moveBy(i, -1), { "data-move": "-1" }),
        button("↓", `Move ${where} down`, () => moveBy(i, 1), { "data-move": "1" }),
        button("✕", `Remove ${where}`, () => remove(i)),
      );
    }),
  );
  $("#od-prev").disabled = state.index <= 0 && !song;
  $("#od-next").disabled = state.index + 1 >= state.items.length;
}

function button(text, label, onClick, attrs = {}) {
  const node = el("button", { type: "button", class: "ghost", "aria-label": label, ...attrs }, text);
  node.addEventListener("click", onClick);
  return node;
}
