// The upload card: choose or drop a file, send it resumably, and follow each upload from
// processing to ready (or failed, with the reason) as its owner sees it, and what other
// listeners get of it under its licence.

import { api } from "./api.js";
import { $, el } from "./dom.js";
import { cancel, upload } from "./upload.js";

const POLL_MS = 2000;
const LABELS = { preview: "Preview", low: "Low (Opus)", high: "High", original: "Original" };
const STATES = { uploading: "Uploading", processing: "Processing…", ready: "Ready", failed: "Failed" };

let deps = null;
let chosen = null;
let running = null; // {file, controller}
let pollTimer = null;

function formatSize(bytes) {
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

function showChosen(file) {
  chosen = file;
  $("#upload-chosen").textContent = file ? `${file.name} (${formatSize(file.size)})` : "No file chosen";
  $("#upload-start").disabled = !file || running !== null;
}

function showProgress(sent, total) {
  const percent = total ? Math.floor((sent / total) * 100) : 0;
  $("#upload-bar").value = percent;
  $("#upload-percent").textContent = `${percent}%`;
}

function optionItem(option) {
  const url = `/api/v1.5/storage/${option.file_hash}`;
  const label = LABELS[option.kind] ?? option.kind;
  if (option.media_type.startsWith("audio/") && option.kind !== "original") {
    return el(
      "li",
      { class: "option" },
      el("span", {}, label),
      el("audio", { controls: true, preload: "none", src: url, "aria-label": `${label} of the upload` }),
    );
  }
  if (!option.downloadable || option.kind === "original") return null; // the original is sealed
  return el("li", { class: "option" }, el("a", { href: url, download: "" }, `Download ${label.toLowerCase()}`));
}

/** What a listener without a licence gets of a ready upload (the view anyone is given):
 * the owner sees, before sharing, what the licence they chose lets others do. */
function othersSee(view) {
  if (!view) return null;
  const kinds = view.options.map((o) => LABELS[o.kind] ?? o.kind);
  const what = kinds.length ? kinds.join(", ") : "nothing yet";
  const how = view.licensed ? "to listen to and download" : "to listen to only";
  return el("span", { class: "others small muted" }, `Listeners get: ${what}, ${how}`);
}

function uploadItem(view, others) {
  const state = el("span", { class: `badge state-${view.status}` }, STATES[view.status] ?? view.status);
  const options = view.options.map(optionItem).filter(Boolean);
  return el(
    "li",
    { "data-content-id": view.content_id, "data-status": view.status },
    el("span", { class: "title" }, view.title),
    el("span", { class: "artist muted" }, view.artist),
    el("span", { class: "row small" }, state, el("span", { class: "muted" }, view.license)),
    view.reason ? el("span", { class: "reason small" }, view.reason) : null,
    options.length ? el("ul", { class: "options" }, ...options) : null,
    othersSee(others),
  );
}

/** Show the listener's uploads; while any is processing, look again shortly. */
export async function showUploads() {
  clearTimeout(pollTimer);
  if (!deps?.user()) return;
  const { contents } = await api("/me/contents");
  // The view of someone who is not the owner: asked without the session (token "").
  const others = await Promise.all(
    contents.map((view) =>
      view.status === "ready" ? api(`/content.view/${view.content_id}`, { token: "" }) : null,
    ),
  );
  const list = $("#my-uploads");
  list.setAttribute("aria-busy", "false");
  list.replaceChildren(
    ...(contents.length
      ? contents.map((view, i) => uploadItem(view, others[i]))
      : [el("li", { class: "muted" }, "Nothing uploaded yet")]),
  );
  if (contents.some((view) => view.status === "processing" || view.status === "uploading")) {
    pollTimer = setTimeout(() => deps.action(showUploads, { quiet: true }), POLL_MS);
  }
}

async function onSubmit(event) {
  event.preventDefault();
  if (!chosen || running) return;
  const form = event.currentTarget;
  const file = chosen;
  const controller = new AbortController();
  running = { file, controller };
  $("#upload-start").disabled = true;
  $("#upload-progress").hidden = false;
  showProgress(0, file.size);
  deps.say(`Uploading ${file.name}…`);
  await deps.action(async () => {
    try {
      await upload(
        file,
        { title: form.title.value.trim(), artist: form.artist.value.trim(), license: form.license.value },
        { user: deps.user(), onProgress: showProgress, signal: controller.signal },
      );
      deps.say(`${file.name} is uploaded; it is being prepared for listening.`);
      form.reset();
      showChosen(null);
    } catch (error) {
      if (controller.signal.aborted) {
        deps.say("Upload cancelled.");
        return;
      }
      throw error;
    } finally {
      running = null;
      $("#upload-progress").hidden = true;
      $("#upload-start").disabled = !chosen;
    }
    await showUploads();
  });
}

function onCancel() {
  if (!running) return;
  const { file, controller } = running;
  controller.abort(new DOMException("cancelled", "AbortError"));
  cancel(file, deps.user());
}

export function setUpUploads(dependencies) {
  deps = dependencies;
  const zone = $("#drop-zone");
  $("#upload-file").addEventListener("change", (e) => showChosen(e.target.files[0] ?? null));
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    const file = e.dataTransfer?.files?.[0];
    if (file) showChosen(file);
  });
  $("#upload-form").addEventListener("submit", onSubmit);
  $("#upload-cancel").addEventListener("click", onCancel);
  showChosen(null);
}

export function resetUploads() {
  clearTimeout(pollTimer);
  $("#my-uploads").replaceChildren();
}
