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

// Answers that mean "fix this and try again" (a wrong password, a bad value, a limit): a
// warning. Everything else (a refusal, a conflict, a failure) is bad news. The tone follows
// what the answer means, so the same answer looks the same wherever it shows.
const CORRECTABLE = new Set([
  "validation_error",
  "invalid_credentials",
  "invalid_code",
  "code_already_used",
  "email_not_verified",
  "invalid_range",
  "weak_password",
]);

export type Tone = "warn" | "bad";

export function toneOf(error: unknown): Tone {
  if (error instanceof ApiError && (CORRECTABLE.has(error.code) || error.status === 422 || error.status === 429)) {
    return "warn";
  }
  return "bad";
}

/** A failed request as a toast, in the tone its meaning calls for. */
export function reportError(error: unknown): void {
  if (error instanceof ApiError) {
    notify[toneOf(error)](error.message);
    return;
  }
  notify.bad("Could not reach the server.", error instanceof Error ? error.message : undefined);
}

type SessionListener = () => void;
const sessionListeners = new Set<SessionListener>();

/** Called when /api answers 401 to a signed-in request: the session ended elsewhere. */
export function onSessionEnded(listener: SessionListener): () => void {
  sessionListeners.add(listener);
  return () => sessionListeners.delete(listener);
}

const sessionWatch: Middleware = {
  onResponse({ request, response }) {
    // Sign-in steps answer 401 for a wrong password or code; that is not a lost session.
    if (response.status === 401 && !new URL(request.url).pathname.startsWith("/api/auth/")) {
      for (const listener of sessionListeners) listener();
    }
    return response;
  },
};

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
client.use(credentials, sessionWatch);

/** The typed client's result as a value or a thrown ApiError. */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw toApiError(response.status, error);
  return data as T;
}
