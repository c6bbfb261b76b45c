import createClient, { type Middleware } from "openapi-fetch";

import { notify } from "@/lib/toast";

import type { paths } from "./schema";

export const CSRF_COOKIE = "gptapi_csrf";
export const CSRF_HEADER = "X-CSRF-Token";
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The /api error body: `{"error": {"code", "message", "param"}}`. */
export interface ApiErrorBody {
  error: { code: string; message: string; param?: string | null };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export function readCookie(name: string, cookies: string = document.cookie): string | null {
  for (const part of cookies.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

/** Headers every state-changing request carries: the CSRF cookie echoed back. */
export function csrfHeaders(method: string): Record<string, string> {
  if (SAFE_METHODS.has(method.toUpperCase())) return {};
  const token = readCookie(CSRF_COOKIE);
  return token ? { [CSRF_HEADER]: token } : {};
}

/** How a request proves who sends it: a bearer token (Supabase mode) stands on its own and
needs no CSRF header, since no browser attaches it by itself; otherwise the session cookie
travels and unsafe methods echo the CSRF cookie. */
export function authHeaders(method: string, accessToken: string | null): Record<string, string> {
  return accessToken ? { Authorization: `Bearer ${accessToken}` } : csrfHeaders(method);
}

type TokenSource = () => Promise<string | null>;
let tokenSource: TokenSource | null = null;

/** In Supabase mode, where the current access token comes from; null returns to cookies. */
export function setTokenSource(source: TokenSource | null): void {
  tokenSource = source;
}

function isErrorBody(body: unknown): body is ApiErrorBody {
  const error = (body as ApiErrorBody | null)?.error;
  return typeof error === "object" && error !== null && typeof error.message === "string";
}

export function toApiError(status: number, body: unknown): ApiError {
  if (isErrorBody(body)) {
    return new ApiError(status, body.error.code ?? "error", body.error.message, body.error.param ?? null);
  }
  return new ApiError(status, "error", `Request failed (${status}).`);
}

/** A failed request as a toast: client mistakes warn, everything else is bad news. */
export function reportError(error: unknown): void {
  if (error instanceof ApiError) {
    const tone = error.status >= 400 && error.status < 500 && error.status !== 403 ? "warn" : "bad";
    notify[tone](error.message);
    return;
  }
  notify.bad("Could not reach the server.", error instanceof Error ? error.message : undefined);
}

const credentials: Middleware = {
  async onRequest({ request }) {
    const accessToken = tokenSource ? await tokenSource() : null;
    for (const [name, value] of Object.entries(authHeaders(request.method, accessToken))) {
      request.headers.set(name, value);
    }
    return request;
  },
};

// An absolute base: Request objects built from a bare path are invalid outside a browser.
// fetch is looked up per call rather than captured once, so it can be replaced in tests.
export const client = createClient<paths>({
  baseUrl: window.location.origin,
  credentials: "same-origin",
  fetch: (request) => globalThis.fetch(request),
});
client.use(credentials);

/** The typed client's result as a value or a thrown ApiError. */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw toApiError(response.status, error);
  return data as T;
}
