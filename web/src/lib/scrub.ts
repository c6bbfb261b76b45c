/** What must never leave the browser in an error report or an analytics event: API keys,
tokens, signing secrets, passwords and email addresses in any string, values under
secret-sounding keys, and query strings (they carry checkout sessions and unsubscribe tokens). */

export const FILTERED = "[Filtered]";
const SECRET_KEY = /pass(word)?|secret|token|api[_-]?key|authorization|cookie|session|csrf|signature|email/i;
const SECRET_TEXT = new RegExp(
  [
    "gpt_(live|test)_[A-Za-z0-9_-]+",
    "sk_[a-z]+_[A-Za-z0-9_-]+",
    "whsec_[A-Za-z0-9_+/=-]+",
    "eyJ[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]*",
    "[Bb]earer\\s+\\S+",
    "(password|passwd|secret|token)\\s*[=:]\\s*\\S+",
    "[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}",
  ].join("|"),
  "g",
);

export function scrubText(text: string): string {
  return text.replace(SECRET_TEXT, FILTERED);
}

/** A URL without its query string and fragment. */
export function bareUrl(url: string): string {
  return url.split(/[?#]/, 1)[0] ?? url;
}

export function scrub<T>(value: T): T {
  if (typeof value === "string") return scrubText(value) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => scrub(item)) as T;
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = SECRET_KEY.test(key) ? FILTERED : scrub(item);
    }
    return out as T;
  }
  return value;
}
