import { beforeEach, describe, expect, it } from "vitest";

import { journeyStep } from "./analytics";
import { doNotTrack, onConsentChange, readConsent, writeConsent } from "./privacy";
import { bareUrl, FILTERED, scrub } from "./scrub";

describe("privacy signals", () => {
  beforeEach(() => window.localStorage.clear());

  it("reads Do Not Track and Global Privacy Control", () => {
    expect(doNotTrack({ doNotTrack: "1" } as Navigator)).toBe(true);
    expect(doNotTrack({ globalPrivacyControl: true } as Navigator & { globalPrivacyControl: boolean })).toBe(true);
    expect(doNotTrack({ doNotTrack: "0" } as Navigator)).toBe(false);
  });

  it("keeps the consent choice and tells listeners", () => {
    expect(readConsent()).toBe("unset");
    const seen: string[] = [];
    const stop = onConsentChange((consent) => seen.push(consent));
    writeConsent("granted");
    writeConsent("denied");
    stop();
    writeConsent("granted");
    expect(seen).toEqual(["granted", "denied"]);
    expect(readConsent()).toBe("granted");
  });
});

describe("scrubbing", () => {
  it("cuts secrets, secret-sounding keys and query strings", () => {
    const event = scrub({
      message: "key gpt_live_AbCdEfGhIjKl0123456789 for ada@example.com failed",
      extra: { password: "hunter2", note: "Bearer abc.def" },
    });
    expect(event.message).toBe(`key ${FILTERED} for ${FILTERED} failed`);
    expect(event.extra).toEqual({ password: FILTERED, note: FILTERED });
    expect(bareUrl("https://gpt.ai/unsubscribe?token=secret#x")).toBe("https://gpt.ai/unsubscribe");
  });
});

describe("journey steps", () => {
  it("are recognised from the API calls that make them", () => {
    expect(journeyStep("POST", "/api/orgs/7f/keys")).toBe("api_key_created");
    expect(journeyStep("POST", "/api/orgs/7f/billing/subscription/checkout")).toBe("plan_checkout_started");
    expect(journeyStep("GET", "/api/orgs/7f/keys")).toBeNull();
  });
});
