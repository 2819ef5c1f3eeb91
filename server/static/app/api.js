// The REST API as the page uses it: the session cookie travels by itself (same origin), unsafe
// methods carry the CSRF double-submit header (CONTRACT §3). Nothing is stored by the page.

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `The server answered ${status}.`);
    this.status = status;
    this.body = body || {};
    this.code = this.body.code || null;
  }
}

let unauthorized = () => {};

/** Called with the error whenever a request answers 401 (the session is gone). */
export function onUnauthorized(handler) {
  unauthorized = handler;
}

/** The csrftoken cookie's value: readable on purpose, the server compares it with the header. */
export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]*)/);
  return match ? decodeURIComponent(match[1]) : "";
}

/** One request; the parsed envelope, or an ApiError (status 0 when the server can't be reached). */
export async function api(method, path, { params, body, quiet401 = false } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null) url.searchParams.set(key, String(value));
  }
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, { error: "The server can't be reached right now.", code: "network" });
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    if (response.status === 401 && !quiet401) unauthorized(error);
    throw error;
  }
  return data;
}
