// The QFZZ web player: accounts, the personal playlist, two streams (personal and the
// shared station), feedback to the DJ, live now-playing, this device's profile, uploads,
// and the library with its on-demand queue.

import { api, ApiError, session } from "./api.js";
import * as device from "./device.js";
import { $, $$ } from "./dom.js";
import { setUpLibrary, showLibrary } from "./library.js";
import { setUpLinks, showLinks } from "./links.js";
import { follow } from "./live.js";
import { panels, setUpPlayer, showHistory, showNow, stopAll } from "./player.js";
import { loadPlaylist, markHeard, markOnAir, resetPlaylist } from "./playlist.js";
import { clear as clearQueue, setUpQueue } from "./queue.js";
import { resetUploads, setUpUploads, showUploads } from "./uploads.js";

const state = { user: null, live: [], streamToken: null };

// -- messages ------------------------------------------------------------------------------

function showError(error) {
  const box = $("#error");
  box.textContent = error instanceof Error ? error.message : String(error);
  box.hidden = false;
}

function say(text) {
  $("#error").hidden = true;
  $("#status").textContent = text;
}

/** Run a user action: clear old errors, show new ones; a refused token signs out. Work the
 * page does by itself (a refresh after a track change, a poll) passes `quiet`: it shows its
 * own errors but never hides the one the listener has not read yet. */
async function action(fn, { quiet = false } = {}) {
  if (!quiet) $("#error").hidden = true;
  try {
    return await fn();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401 && state.user) {
      signOutLocally();
      showError(`Please sign in again: ${error.message}`);
    } else {
      showError(error);
    }
    return undefined;
  }
}

// -- accounts ------------------------------------------------------------------------------

async function onAuthSubmit(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const register = event.submitter?.value === "register";
  const userId = form.user_id.value.trim();
  const password = form.password.value;
  if (!userId || !password) {
    showError("Enter a user name and a password.");
    (userId ? form.password : form.user_id).focus();
    return;
  }
  await action(async () => {
    let answer;
    if (register) {
      const genres = form.genres.value.split(",").map((g) => g.trim()).filter(Boolean);
      answer = await api("/listeners", {
        method: "POST",
        body: { user_id: userId, password, preferences: { genres } },
      });
    } else {
      answer = await api("/auth/login", { method: "POST", body: { user_id: userId, password } });
    }
    session.save({ user: answer.user_id, token: answer.token });
    form.password.value = "";
    await enter(answer.user_id);
    say(register ? `Welcome, ${answer.user_id}! Press Play to start your radio.` : "Signed in.");
  });
}

async function signOut() {
  const token = session.load()?.token;
  signOutLocally();
  say("Signed out.");
  if (token) await api("/auth/logout", { method: "POST", token }).catch(() => {});
}

function signOutLocally() {
  stopAll();
  clearQueue();
  for (const live of state.live) live.close();
  state.live = [];
  state.user = null;
  state.streamToken = null;
  resetPlaylist(null);
  resetUploads();
  session.clear();
  $("#app").hidden = true;
  $("#who").hidden = true;
  $("#auth").hidden = false;
  document.title = "QFZZ radio";
  $("#user-id").focus();
}

async function enter(user) {
  state.user = user;
  $("#who-name").textContent = user;
  $("#who").hidden = false;
  $("#auth").hidden = true;
  $("#app").hidden = false;
  resetPlaylist(user);
  state.live = Object.values(panels).map((panel) =>
    follow(panel.mount, streamToken, {
      now: (data) => showNow(panel, data),
      history: (data) => {
        showHistory(panel, data);
        if (panel.mount === "personal") markHeard(data.tracks.map((item) => item.track.track_id));
      },
      state: (s) => panel.root.setAttribute("data-live", s),
      // A refused session (expired, signed out elsewhere) signs this page out too.
      error: (error) => error.status === 401 && action(() => Promise.reject(error)),
    }),
  );
  await Promise.all([
    loadPlaylist(),
    registerDevice(),
    showAppPassword("GET"),
    showLinks(user),
    showUploads(),
    showLibrary(),
  ]);
}

/** The Subsonic app password: shown, and replaced on request (the old one stops working). */
async function showAppPassword(method) {
  const { app_password: password } = await api("/me/app-password", { method });
  $("#app-password").value = password;
}

/** A signed token for URLs (audio, events), reused until a minute before it expires. */
async function streamToken() {
  const cached = state.streamToken;
  if (cached && cached.until > Date.now()) return cached;
  const answer = await api("/auth/stream-token");
  state.streamToken = { ...answer, until: Date.now() + (answer.expires_in - 60) * 1000 };
  return state.streamToken;
}

// -- device --------------------------------------------------------------------------------

function showDevice(params) {
  if (!params) return;
  const words = (name) => name.charAt(0).toUpperCase() + name.slice(1).replace("_", " ");
  const link = device.link();
  const network = link.network_type?.toUpperCase().replace("WIFI", "Wi-Fi");
  const facts = {
    profile: words(params.profile),
    bitrate: `${params.stream_bitrate_kbps} kbps`,
    codec: params.codec.toUpperCase(),
    quality: words(params.quality),
    network: network || (link.bandwidth_mbps ? `≈ ${link.bandwidth_mbps} Mbps` : "Unknown"),
    buffer: `${Math.round(params.buffer_seconds)} s`,
  };
  for (const [name, value] of Object.entries(facts)) {
    $(`[data-fact="${name}"]`).textContent = value;
  }
}

async function registerDevice(profile) {
  showDevice(await device.register(state.user, profile));
  $("#profile").value = device.chosenProfile();
}

// -- start ---------------------------------------------------------------------------------

function setUpTabs() {
  const tabs = $$('[role="tab"]');
  const select = (tab) => {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
      $(`#${t.getAttribute("aria-controls")}`).hidden = !on;
    }
    tab.focus();
  };
  for (const [i, tab] of tabs.entries()) {
    tab.addEventListener("click", () => select(tab));
    tab.addEventListener("keydown", (e) => {
      const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
      if (to === undefined) return;
      e.preventDefault();
      select(tabs[(to + tabs.length) % tabs.length]);
    });
  }
}

/** While the station prepares its library (the port opens first), say how far it is, until
 * it is ready: health answers 503 "starting" with the step and its progress. */
async function watchStartUp() {
  for (;;) {
    let health;
    try {
      const answer = await fetch("/api/v1/health", { cache: "no-store" });
      health = await answer.json();
    } catch {
      return; // the station went away: the next request will say so
    }
    if (health.status !== "starting") {
      if ($("#status").dataset.startUp) {
        delete $("#status").dataset.startUp;
        say(`The station is ready: ${health.tracks} tracks.`);
      }
      return;
    }
    const step = health.starting || { step: "starting", done: 0, total: null };
    const counted = step.total ? ` (${step.done} of ${step.total})` : "";
    $("#status").dataset.startUp = "1";
    say(`The station is starting: ${step.step}${counted}. ` +
        `${health.tracks} tracks are playable already.`);
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

async function start() {
  watchStartUp();
  setUpPlayer({
    user: () => state.user,
    streamToken,
    action,
    say,
    showError,
    afterFeedback: () => loadPlaylist(),
    afterSkip: (track) => {
      markHeard([track?.track_id]);
      return loadPlaylist();
    },
    // A new track on the listener's stream: what played is no longer up next.
    onTrack: (mount, track, changed) => {
      if (mount !== "personal") return;
      markOnAir(track?.track_id);
      if (changed && state.user) action(() => loadPlaylist(), { quiet: true });
    },
  });
  setUpTabs();
  setUpLinks({ user: () => state.user, action, say });
  setUpUploads({ user: () => state.user, action, say });
  setUpQueue({ user: () => state.user, streamToken, action, showError });
  setUpLibrary({ streamToken, action });
  $("#auth-form").addEventListener("submit", onAuthSubmit);
  $("#sign-out").addEventListener("click", signOut);
  $("#refresh").addEventListener("click", () => action(() => loadPlaylist()));
  $("#profile").addEventListener("change", (e) =>
    action(async () => {
      await registerDevice(e.target.value);
      say("Streaming profile saved; a playing stream follows it from the next track.");
    }),
  );
  device.onLinkChange(() =>
    action(async () => state.user && showDevice(await device.update()), { quiet: true }),
  );
  $("#new-app-password").addEventListener("click", () =>
    action(async () => {
      await showAppPassword("POST");
      say("New app password: update it in your Subsonic apps.");
    }),
  );

  const saved = session.load();
  if (!saved) {
    $("#auth").hidden = false;
    return;
  }
  try {
    const me = await api("/me");
    await action(() => enter(me.user_id));
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) session.clear();
    $("#auth").hidden = false;
    showError(error.status === 401 ? "Your session ended: please sign in again." : error);
  }
}

start();
