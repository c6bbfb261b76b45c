/** Product analytics with PostHog, only with the visitor's consent and never with Do Not
Track: page views and the main journey steps under a pseudonymous id, nothing else — no
autocapture, no session recording, no surveys or remote code, URLs without query strings. */

import type { PostHog } from "posthog-js";

import { client } from "@/api/client";

import { doNotTrack, readConsent } from "./privacy";
import { bareUrl } from "./scrub";

let instance: Promise<PostHog> | null = null;
let config: { key: string; host: string } | null = null;

/** Journey steps, recognised from the console API calls that make them. */
const STEPS: [method: string, path: RegExp, step: string][] = [
  ["POST", /^\/api\/auth\/signup$/, "signed_up"],
  ["POST", /^\/api\/auth\/signin$/, "signed_in"],
  ["POST", /^\/api\/orgs\/[^/]+\/keys$/, "api_key_created"],
  ["POST", /^\/api\/orgs\/[^/]+\/billing\/checkout$/, "top_up_started"],
  ["POST", /^\/api\/orgs\/[^/]+\/billing\/crypto$/, "crypto_top_up_started"],
  ["POST", /^\/api\/orgs\/[^/]+\/billing\/subscription\/checkout$/, "plan_checkout_started"],
];

export function journeyStep(method: string, url: string): string | null {
  const path = new URL(url, window.location.origin).pathname;
  return STEPS.find(([verb, pattern]) => verb === method && pattern.test(path))?.[2] ?? null;
}

client.use({
  onResponse({ request, response }) {
    const step = response.ok ? journeyStep(request.method, request.url) : null;
    if (step) track(step);
    return response;
  },
});

export function allowed(): boolean {
  return config !== null && readConsent() === "granted" && !doNotTrack();
}

function load(): Promise<PostHog> | null {
  if (!allowed() || config === null) return null;
  const { key, host } = config;
  instance ??= import("posthog-js").then(({ default: posthog }) => {
    posthog.init(key, {
      api_host: host,
      autocapture: false,
      capture_pageview: false,
      capture_pageleave: false,
      capture_exceptions: false,
      capture_dead_clicks: false,
      capture_heatmaps: false,
      capture_performance: false,
      rageclick: false,
      disable_session_recording: true,
      disable_surveys: true,
      disable_product_tours: true,
      disable_conversations: true,
      disable_web_experiments: true,
      disable_external_dependency_loading: true,
      advanced_disable_flags: true,
      respect_dnt: true,
      save_referrer: false,
      person_profiles: "identified_only",
      persistence: "localStorage",
      before_send: (event) => {
        if (!event) return event;
        const properties = event.properties;
        for (const name of ["$current_url", "$referrer", "$initial_referrer", "$initial_current_url"]) {
          if (typeof properties[name] === "string") properties[name] = bareUrl(properties[name]);
        }
        delete properties.$ip;
        return event;
      },
    });
    return posthog;
  });
  return instance;
}

export function configureAnalytics(key: string, host: string): void {
  config = { key, host };
}

export function track(event: string, properties: Record<string, string> = {}): void {
  void load()?.then((posthog) => posthog.capture(event, properties));
}

export function pageView(path: string): void {
  void load()?.then((posthog) =>
    posthog.capture("$pageview", { $current_url: `${window.location.origin}${bareUrl(path)}` }),
  );
}

export function identify(analyticsId: string): void {
  void load()?.then((posthog) => {
    if (posthog.get_distinct_id() !== analyticsId) posthog.identify(analyticsId);
  });
}

/** Consent withdrawn: stop sending and forget the id kept in this browser. */
export function stopAnalytics(): void {
  void instance?.then((posthog) => {
    posthog.opt_out_capturing();
    posthog.reset();
  });
  instance = null;
}
