// Player links (a revocable stream key for VLC, mpv, radio apps) and the settings a
// Subsonic app needs, each with a copy button.
//
// The key itself is shown once, when it is made (the server keeps only its digest):
// replacing or revoking it stops every player that has the old links, so both ask first.

import { api, ApiError, paths } from "./api.js";
import { $, el } from "./dom.js";

/** Filled by setUpLinks: user(), action(fn), say(text). */
let ctx = null;
let pending = null; // what the confirmation's "yes" does

export function setUpLinks(context) {
  ctx = context;
  $("#key-create").addEventListener("click", () =>
    $("#key-create").dataset.exists === "true"
      ? ask(
          "Your current links stop working in every player that uses them. Make new ones?",
          "Replace links",
          create,
        )
      : ctx.action(create),
  );
  $("#key-revoke").addEventListener("click", () =>
    ask("Players that use your links stop playing. Revoke them?", "Revoke links", revoke),
  );
  $("#key-confirm-yes").addEventListener("click", () => {
    const run = pending;
    closeConfirm(false);
    if (run) ctx.action(run);
  });
  $("#key-confirm-no").addEventListener("click", () => closeConfirm(true));
  $("#key-confirm").addEventListener("keydown", (e) => e.key === "Escape" && closeConfirm(true));
  document.addEventListener("click", (e) => {
    const button = e.target.closest?.("[data-copy]");
    if (button) ctx.action(() => copy($(`#${button.dataset.copy}`), button));
  });
}

/** Show whether the listener has player links, and the Subsonic settings. */
export async function showLinks(user) {
  $("#subsonic-server").value = location.origin;
  $("#subsonic-user").value = user;
  $("#key-links").hidden = true;
  $("#key-urls").replaceChildren();
  closeConfirm(false);
  try {
    showKeyState(await api(paths.streamKey(user)));
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404) throw error;
    $("#key-state").textContent = "Player links are not available on this server.";
    $("#key-create").disabled = true;
    $("#key-revoke").disabled = true;
  }
}

function showKeyState({ exists, created_at: created }) {
  const made = created ? new Date(created * 1000).toLocaleString() : null;
  $("#key-state").textContent = exists
    ? `You have player links${made ? `, made ${made}` : ""}.`
    : "You have no player links yet.";
  const button = $("#key-create");
  button.dataset.exists = String(Boolean(exists));
  button.textContent = exists ? "New links" : "Create links";
  button.disabled = false;
  $("#key-revoke").disabled = !exists;
}

function ask(text, yes, run) {
  pending = run;
  $("#key-confirm-text").textContent = text;
  $("#key-confirm-yes").textContent = yes;
  $("#key-confirm").hidden = false;
  $("#key-confirm-yes").focus();
}

function closeConfirm(refocus) {
  pending = null;
  $("#key-confirm").hidden = true;
  if (refocus) $("#key-create").focus();
}

async function create() {
  const answer = await api(paths.streamKey(ctx.user()), { method: "POST" });
  showKeyState({ exists: true, created_at: answer.created_at });
  $("#key-urls").replaceChildren(...linkRows(answer.urls || {}));
  $("#key-links").hidden = false;
  $("#key-notice").focus();
  ctx.say("New player links: copy them now, they are shown only once.");
}

async function revoke() {
  await api(paths.streamKey(ctx.user()), { method: "DELETE" });
  $("#key-links").hidden = true;
  $("#key-urls").replaceChildren();
  showKeyState({ exists: false, created_at: null });
  $("#key-create").focus();
  ctx.say("Player links revoked: players that used them stop playing.");
}

/** One labelled, read-only field with a copy button per URL the server offers. */
function linkRows(urls) {
  return flatten(urls).map(([name, url], i) => {
    const id = `key-url-${i}`;
    const label = describe(name);
    return el(
      "div",
      { class: "copy-row" },
      el("label", { for: id }, label),
      el(
        "div",
        { class: "copy-field" },
        el("input", {
          id,
          readonly: true,
          spellcheck: "false",
          value: new URL(url, location.origin).href,
          "data-url": name,
        }),
        el(
          "button",
          { type: "button", class: "secondary copy", "data-copy": id, "aria-label": `Copy ${label}` },
          "Copy",
        ),
      ),
    );
  });
}

/** {"shared": "...", "personal": {"m3u": "..."}} → [["shared", url], ["personal_m3u", url]] */
function flatten(urls, prefix = "") {
  return Object.entries(urls).flatMap(([key, value]) =>
    value && typeof value === "object"
      ? flatten(value, `${prefix}${key}_`)
      : typeof value === "string"
        ? [[`${prefix}${key}`, value]]
        : [],
  );
}

/** A URL's name in the API ("personal_m3u") in the listener's words. */
function describe(name) {
  const words = name.toLowerCase().split(/[^a-z0-9]+/);
  const which = words.includes("personal")
    ? "Your radio"
    : words.some((w) => ["shared", "station", "main"].includes(w))
      ? "Station"
      : name.replace(/[_-]+/g, " ");
  const format = words.includes("m3u")
    ? "playlist (.m3u)"
    : words.includes("pls")
      ? "playlist (.pls)"
      : "stream link";
  return `${which} ${format}`;
}

async function copy(input, button) {
  let copied = false;
  try {
    await navigator.clipboard.writeText(input.value);
    copied = true;
  } catch {
    // no clipboard API here (a plain-http address): select the text for the listener
    input.focus();
    input.select();
    copied = document.execCommand?.("copy") ?? false;
  }
  const what = $(`label[for="${input.id}"]`)?.textContent ?? "Text";
  ctx.say(copied ? `${what} copied.` : `${what} selected: press Ctrl+C (or ⌘C) to copy it.`);
  button.focus();
}
