/** The console's errors to Sentry when the server hands out a browser DSN: loaded on demand,
so visitors of a console without Sentry never download it, and scrubbed before sending. */

import type { ErrorEvent } from "@sentry/browser";

import { bareUrl, scrub } from "./scrub";

let started: Promise<void> | null = null;

export function scrubReport(event: ErrorEvent): ErrorEvent {
  const request = event.request;
  if (request) {
    delete request.cookies;
    delete request.data;
    delete request.query_string;
    if (request.url) request.url = bareUrl(request.url);
    const headers = request.headers ?? {};
    request.headers = "User-Agent" in headers ? { "User-Agent": headers["User-Agent"] } : {};
  }
  delete event.user;
  return scrub(event);
}

export function startErrorReports(dsn: string, environment: string, release: string): Promise<void> {
  started ??= import("@sentry/browser").then((Sentry) => {
    Sentry.init({
      dsn,
      environment,
      release: `gptapi-console@${release}`,
      beforeSend: scrubReport,
      beforeBreadcrumb: (crumb) => scrub(crumb),
    });
  });
  return started;
}
