// The station's own Subsonic API from the page: the library views are one more Subsonic
// client. Fetches send the session as a bearer header (never in the URL); <img> and
// <audio> URLs, which cannot send headers, carry a signed stream token (an hour) that
// opens media only.

import { ApiError, session } from "./api.js";

const BASE = { f: "json", v: "1.16.1", c: "qfzz-web" };
/** Subsonic's "wrong credentials" and "invalid API key": the session is over. */
const SIGNED_OUT = new Set([40, 44]);

function query(params) {
  const search = new URLSearchParams(BASE);
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === null) continue;
    for (const one of [].concat(value)) search.append(name, String(one));
  }
  return search;
}

/** Call a Subsonic method; resolves to its answer's body, rejects with ApiError. */
export async function sub(method, params = {}) {
  const token = session.load()?.token;
  let response;
  try {
    response = await fetch(`/rest/${method}?${query(params)}`, {
      headers: token ? { Authorization: `Bearer ${token}` } : {},
    });
  } catch {
    throw new ApiError(0, "network", "The server cannot be reached. Check your connection.");
  }
  let body = null;
  try {
    body = (await response.json())["subsonic-response"];
  } catch {
    body = null;
  }
  if (!response.ok || body?.status !== "ok") {
    const error = body?.error ?? {};
    const status = SIGNED_OUT.has(error.code) ? 401 : response.status;
    throw new ApiError(status, "subsonic", error.message || `HTTP ${response.status}`);
  }
  return body;
}

/** A URL for <img src> or <audio src>: the method, its parameters and a stream token. */
export function mediaUrl(method, params, streamToken) {
  return `/rest/${method}?${query({ ...params, token: streamToken })}`;
}

/** The track id the REST API knows ("tr-12" → 12). */
export function trackNumber(songId) {
  return Number(String(songId).replace(/^tr-/, ""));
}
