import { useEffect, useState } from "react";

import { useConfig } from "@/api/hooks";
import { Button } from "@/components/ui/button";
import { doNotTrack, onConsentChange, readConsent, writeConsent, type Consent } from "@/lib/privacy";

/** The Privacy dialog's cookie and analytics choice (shown when the server has analytics). */
export function AnalyticsConsent() {
  const { data: config } = useConfig();
  const [consent, setConsent] = useState<Consent>(readConsent);
  useEffect(() => onConsentChange(setConsent), []);
  if (!config?.posthog_key) return null;
  const dnt = doNotTrack();
  return (
    <section aria-label="Analytics consent" className="grid gap-2 rounded-md border p-3 text-sm">
      <h3 className="font-medium">Product analytics</h3>
      <p className="text-muted-foreground">
        With your permission we count page views and steps such as creating a key or adding credit (PostHog, under a
        pseudonymous id, stored in this browser). Never prompts, never your name or email.
      </p>
      {dnt ? (
        <p>Your browser asks not to be tracked (Do Not Track), so nothing is sent.</p>
      ) : (
        <div className="flex flex-wrap items-center gap-2">
          <span>
            {consent === "granted" ? "Allowed." : consent === "denied" ? "Declined." : "Not decided: nothing is sent."}
          </span>
          <Button
            size="sm"
            variant={consent === "granted" ? "default" : "outline"}
            onClick={() => writeConsent("granted")}
          >
            Allow analytics
          </Button>
          <Button
            size="sm"
            variant={consent === "denied" ? "default" : "outline"}
            onClick={() => writeConsent("denied")}
          >
            Decline
          </Button>
        </div>
      )}
    </section>
  );
}
