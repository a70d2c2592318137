// This browser as an edge device: its kind from media queries, its link from
// navigator.connection (when the browser has it), its battery when it tells.

import { api, paths } from "./api.js";

const KEY = "qfzz.device";

function load() {
  try {
    return JSON.parse(localStorage.getItem(KEY)) || {};
  } catch {
    return {};
  }
}

function save(value) {
  localStorage.setItem(KEY, JSON.stringify(value));
}

function newId() {
  // crypto.getRandomValues works on plain http too (randomUUID needs a secure context).
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return `web-${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

// A device id belongs to the listener who registered it (the server answers 409 to
// anyone else), so a browser shared by several listeners keeps one id for each.
let currentUser = "";

export function deviceId(user = currentUser) {
  const stored = load();
  const ids = stored.ids || {};
  if (!ids[user]) save({ ...stored, ids: { ...ids, [user]: newId() } });
  return load().ids[user];
}

export function chosenProfile() {
  return load().profile || "";
}

function deviceType(onBattery) {
  if (matchMedia("(pointer: coarse) and (max-width: 767px)").matches) return "smartphone";
  if (matchMedia("(pointer: coarse)").matches) return "tablet";
  return onBattery ? "laptop" : "desktop";
}

/** What navigator.connection says, in the edge optimizer's words. */
export function link() {
  const c = navigator.connection;
  if (!c) return {};
  const out = {};
  const slow = ["slow-2g", "2g", "3g"].includes(c.effectiveType);
  if (c.type === "wifi" || c.type === "ethernet") out.network_type = c.type;
  else if (c.type === "cellular" || slow) out.network_type = slow ? "3g" : "4g";
  if (c.downlink > 0) out.bandwidth_mbps = c.downlink;
  return out;
}

async function battery() {
  try {
    const b = await navigator.getBattery?.();
    if (b && !b.charging) return { battery_powered: true, battery_level: b.level };
  } catch {
    // not offered here: say nothing
  }
  return {};
}

/** Register (or re-register) this browser; resolves to the optimization parameters. */
export async function register(user, profile = chosenProfile()) {
  currentUser = user;
  const power = await battery();
  const body = {
    device_id: deviceId(user),
    device_type: deviceType(Boolean(power.battery_powered)),
    user_id: user,
    codecs: ["mp3"],
    ...link(),
    ...power,
    preferences: profile ? { profile } : null,
  };
  const answer = await api("/devices", { method: "POST", body });
  save({ ...load(), profile });
  return answer.optimization;
}

/** The network changed: tell the server, which re-optimizes. */
export async function update() {
  const changes = link();
  if (!Object.keys(changes).length) return null;
  const answer = await api(paths.device(deviceId()), { method: "PATCH", body: changes });
  return answer.optimization;
}

export function onLinkChange(callback) {
  navigator.connection?.addEventListener?.("change", callback);
}
