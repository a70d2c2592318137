// Resumable uploads by the tus 1.0.0 protocol (POST to create, PATCH chunks, HEAD to learn
// where the server stands). A dropped connection or a reload resumes where the server's
// offset says, not from zero: the upload's URL is kept in localStorage under the file's
// fingerprint until the upload finishes. Each chunk carries a sha256 checksum where the
// browser offers WebCrypto, so a chunk damaged on the way is refused (460) and sent again.

import { ApiError, session } from "./api.js";

const TUS = "1.0.0";
const ENDPOINT = "/api/v1/upload/";
const CHUNK = 4 * 1024 * 1024;
const RETRY_DELAYS_MS = [1000, 2000, 4000, 8000, 15000];
const KEY = "qfzz.uploads";

function remembered() {
  try {
    return JSON.parse(localStorage.getItem(KEY)) || {};
  } catch {
    return {};
  }
}

function remember(fingerprint, url) {
  const all = remembered();
  if (url) all[fingerprint] = url;
  else delete all[fingerprint];
  localStorage.setItem(KEY, JSON.stringify(all));
}

function fingerprint(file, user) {
  return [user, file.name, file.size, file.lastModified].join("/");
}

function base64(bytes) {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text);
}

function metadataHeader(meta) {
  return Object.entries(meta)
    .filter(([, value]) => value)
    .map(([key, value]) => `${key} ${base64(new TextEncoder().encode(value))}`)
    .join(",");
}

async function checksum(blob) {
  if (!globalThis.crypto?.subtle) return null; // plain http on a remote host: no WebCrypto
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  return `sha256 ${base64(new Uint8Array(digest))}`;
}

function headers(extra = {}) {
  const all = { "Tus-Resumable": TUS, ...extra };
  const token = session.load()?.token;
  if (token) all.Authorization = `Bearer ${token}`;
  return all;
}

async function refusal(response) {
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  return new ApiError(response.status, data?.error ?? "http_error", data?.detail ?? response.statusText);
}

const wait = (ms, signal) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });

/** Where the server stands on an upload: {offset, contentId}, or null if it is gone. */
async function status(url, signal) {
  const response = await fetch(url, { method: "HEAD", headers: headers(), signal });
  if (response.status === 404 || response.status === 410 || response.status === 403) return null;
  if (!response.ok) throw await refusal(response);
  return {
    offset: Number(response.headers.get("Upload-Offset")),
    contentId: response.headers.get("QFZZ-Content-Id"),
  };
}

async function create(file, meta, signal) {
  const response = await fetch(ENDPOINT, {
    method: "POST",
    headers: headers({ "Upload-Length": String(file.size), "Upload-Metadata": metadataHeader(meta) }),
    signal,
  });
  if (!response.ok) throw await refusal(response);
  // the path only: behind a proxy the server's idea of its own host may differ
  return new URL(response.headers.get("Location"), window.location.href).pathname;
}

/**
 * Upload `file` with `meta` (title, artist, license…); resolves to the content id.
 * `onProgress(sent, total)` follows the server's offset; `signal` aborts.
 */
export async function upload(file, meta, { user, onProgress = () => {}, signal } = {}) {
  if (file.size === 0) throw new ApiError(400, "empty", "The file is empty.");
  const key = fingerprint(file, user);
  let url = remembered()[key];
  let where = url ? await status(url, signal) : null;
  if (!where) {
    url = await create(file, { ...meta, filename: file.name, filetype: file.type }, signal);
    remember(key, url);
    where = { offset: 0, contentId: null };
  }
  let { offset, contentId } = where;
  onProgress(offset, file.size);
  let failures = 0;
  while (offset < file.size) {
    const chunk = file.slice(offset, offset + CHUNK);
    const sum = await checksum(chunk);
    let response;
    try {
      response = await fetch(url, {
        method: "PATCH",
        headers: headers({
          "Upload-Offset": String(offset),
          "Content-Type": "application/offset+octet-stream",
          ...(sum ? { "Upload-Checksum": sum } : {}),
        }),
        body: chunk,
        signal,
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      response = null; // the network: wait, then ask the server where it stands
    }
    if (response?.ok) {
      failures = 0;
      offset = Number(response.headers.get("Upload-Offset"));
      contentId = response.headers.get("QFZZ-Content-Id") || contentId;
      onProgress(offset, file.size);
      continue;
    }
    const retryable = !response || response.status === 409 || response.status === 460 ||
      response.status === 423 || response.status >= 500;
    if (!retryable) {
      if (response.status === 404 || response.status === 410) remember(key, null);
      throw await refusal(response);
    }
    if (failures >= RETRY_DELAYS_MS.length) {
      throw response ? await refusal(response) : new ApiError(0, "network", "The upload keeps failing: check your connection and try again.");
    }
    await wait(RETRY_DELAYS_MS[failures++], signal);
    where = await status(url, signal);
    if (!where) {
      remember(key, null);
      throw new ApiError(410, "gone", "The server no longer has this upload: start it again.");
    }
    ({ offset } = where);
    onProgress(offset, file.size);
  }
  remember(key, null);
  // the finish runs on the server after the last byte: the content id follows on HEAD
  for (let tries = 0; !contentId && tries < 20; tries++) {
    await wait(500, signal);
    contentId = (await status(url, signal))?.contentId;
  }
  if (!contentId) throw new ApiError(0, "pending", "The upload arrived; its content is not ready yet.");
  return contentId;
}

/** Give up an unfinished upload: the server deletes what it received. */
export async function cancel(file, user) {
  const key = fingerprint(file, user);
  const url = remembered()[key];
  remember(key, null);
  if (url) await fetch(url, { method: "DELETE", headers: headers() }).catch(() => {});
}
