// The REST API from the browser: a bearer token kept in localStorage, and errors
// ({"error", "detail"}) turned into ApiError so the page can show the detail.

const KEY = "qfzz.session";

export class ApiError extends Error {
  constructor(status, code, detail) {
    super(detail || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

export const session = {
  load() {
    try {
      return JSON.parse(localStorage.getItem(KEY)) || null;
    } catch {
      return null;
    }
  },
  save(value) {
    localStorage.setItem(KEY, JSON.stringify(value));
  },
  clear() {
    localStorage.removeItem(KEY);
  },
};

/** Call the API; resolves to the JSON body (or null), rejects with ApiError. */
export async function api(path, { method = "GET", body, token } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const bearer = token ?? session.load()?.token;
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  let response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", "The server cannot be reached. Check your connection.");
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const retry = response.headers.get("Retry-After");
    const detail = data?.detail ?? (text || response.statusText);
    throw new ApiError(
      response.status,
      data?.error ?? "http_error",
      retry ? `${detail} (try again in ${retry} s)` : detail,
    );
  }
  return data;
}

const enc = encodeURIComponent;
export const paths = {
  listener: (user) => `/listeners/${enc(user)}`,
  playlist: (user) => `/listeners/${enc(user)}/playlist`,
  interactions: (user) => `/listeners/${enc(user)}/interactions`,
  skip: (user) => `/listeners/${enc(user)}/skip`,
  streamKey: (user) => `/listeners/${enc(user)}/stream-key`,
  track: (id) => `/tracks/${enc(id)}`,
  trust: (content, creator) => `/trust/${enc(content)}/${enc(creator)}`,
  device: (id) => `/devices/${enc(id)}`,
};
