// The API client and the signed-in session. Every request goes through `api()`: it adds the bearer
// token, turns the API's error envelope into an ApiError, refreshes tokens before they expire, and on a
// refused token ends the session and tells the page (the "shop:session" event) to show the sign-in form.
import { config } from "../config.js";

export class ApiError extends Error {
  constructor(status, code, message, details, headers) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.headers = headers;
  }
}

export function apiUrl(path) {
  return `${config.apiBase}${path}`;
}

/**
 * An address the API returned (an image, a local upload URL), made absolute against the API rather than
 * against the page, for a storefront served from another origin. Absolute addresses are kept.
 */
export function apiAddress(url) {
  if (!url) return url;
  return new URL(url, config.apiBase ? new URL(config.apiBase, window.location.href) : window.location.href).href;
}

const KEY = "shop.session";
let refreshTimer = null;
let refreshing = null;

/** The stored session: {accessToken, refreshToken, expiresAt, profile}, or null. */
export function session() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY)) || null;
  } catch {
    return null;
  }
}

function store(value) {
  if (value) sessionStorage.setItem(KEY, JSON.stringify(value));
  else sessionStorage.removeItem(KEY);
  scheduleRefresh();
  window.dispatchEvent(new CustomEvent("shop:session", { detail: { signedIn: !!value } }));
}

export function isAdmin() {
  const s = session();
  return !!s?.profile?.groups?.includes("admin");
}

async function send(method, path, { body, headers = {}, token } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (token) init.headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(apiUrl(path), init);
  } catch {
    throw new ApiError(0, "network_error", "The store could not be reached. Check the connection and try again.");
  }
  const text = await response.text();
  let data = null;
  if (text && (response.headers.get("Content-Type") || "").includes("json")) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!response.ok && response.status !== 304) {
    const error = data?.error;
    throw new ApiError(response.status, error?.code || "http_error",
      error?.message || `The store answered ${response.status}. Try again in a moment.`, error?.details, response.headers);
  }
  return { data, headers: response.headers, status: response.status };
}

/**
 * Calls the API. `auth: true` requires a signed-in user (else a 401 ApiError without a request);
 * `full: true` answers {data, headers, status} instead of the body.
 */
export async function api(method, path, { body, headers, auth = false, full = false } = {}) {
  let current = session();
  if (auth && !current) {
    signedOut("Please sign in to continue.");
    throw new ApiError(401, "unauthorized", "Please sign in to continue.");
  }
  if (current && current.expiresAt - Date.now() < 30_000) current = await refresh().catch(() => session());
  try {
    const result = await send(method, path, { body, headers, token: current?.accessToken });
    return full ? result : result.data;
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401 || !current || path.startsWith("/auth/login")) throw error;
    // A refused token: one refresh, one retry. refresh() ends the session itself when the refresh token is
    // refused; any other failure (offline, 503) keeps the session and reports the original error.
    const renewed = await refresh().catch(() => undefined);
    if (!renewed) throw error;
    const result = await send(method, path, { body, headers, token: renewed.accessToken });
    return full ? result : result.data;
  }
}

function signedOut(reason) {
  store(null);
  window.dispatchEvent(new CustomEvent("shop:signin-needed", { detail: { reason } }));
}

/** Signs in: tokens, then the profile (name, email, groups). */
export async function signIn(email, password) {
  const { data } = await send("POST", "/auth/login", { body: { email, password } });
  const tokens = { accessToken: data.accessToken, refreshToken: data.refreshToken, expiresAt: Date.now() + data.expiresIn * 1000 };
  const { data: profile } = await send("GET", "/auth/me", { token: tokens.accessToken });
  store({ ...tokens, profile });
  return profile;
}

/** New tokens from the refresh token; null (and signed out) when it is refused. One refresh at a time. */
export function refresh() {
  const current = session();
  if (!current) return Promise.resolve(null);
  refreshing ??= send("POST", "/auth/refresh", { body: { refreshToken: current.refreshToken } })
    .then(({ data }) => {
      const renewed = { ...current, accessToken: data.accessToken, refreshToken: data.refreshToken || current.refreshToken,
        expiresAt: Date.now() + data.expiresIn * 1000 };
      store(renewed);
      return renewed;
    })
    .catch((error) => {
      if (error instanceof ApiError && error.status === 401) {
        signedOut("Your session has ended. Please sign in again.");
        return null;
      }
      throw error;
    })
    .finally(() => { refreshing = null; });
  return refreshing;
}

/**
 * Signs out: revokes the refresh token (refreshing an expired access token first, so that the revocation
 * is not refused), then forgets the session whatever the answer. Answers whether the store revoked it.
 */
export async function signOut() {
  let current = session();
  if (current && current.expiresAt - Date.now() < 30_000) current = (await refresh().catch(() => null)) || session();
  let revoked = false;
  if (current) {
    try {
      await send("POST", "/auth/logout", { body: { refreshToken: current.refreshToken }, token: current.accessToken });
      revoked = true;
    } catch { /* the tokens are dropped here anyway; the page says the store did not revoke them */ }
  }
  store(null);
  return revoked;
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  const current = session();
  if (!current) return;
  const wait = Math.max(current.expiresAt - Date.now() - 60_000, 5_000);
  refreshTimer = setTimeout(() => { refresh().catch(() => {}); }, wait);
}

scheduleRefresh();
