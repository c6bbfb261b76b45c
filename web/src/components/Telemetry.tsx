import { useEffect } from "react";
import { useLocation } from "react-router-dom";

import { useConfig, useMe } from "@/api/hooks";
import { configureAnalytics, identify, pageView, stopAnalytics } from "@/lib/analytics";
import { startErrorReports } from "@/lib/errorReports";
import { onConsentChange } from "@/lib/privacy";

/** Starts what the server configured: error reports, and analytics when the visitor allows. */
export function Telemetry() {
  const { data: config } = useConfig();
  const { data: me } = useMe();
  const { pathname } = useLocation();
  const posthog = config?.posthog_key && config.posthog_host ? config : null;

  useEffect(() => {
    if (config?.sentry_dsn) void startErrorReports(config.sentry_dsn, config.environment, config.version);
  }, [config]);

  useEffect(() => {
    if (!posthog?.posthog_key || !posthog.posthog_host) return;
    configureAnalytics(posthog.posthog_key, posthog.posthog_host);
    return onConsentChange((consent) => {
      if (consent === "granted") pageView(window.location.pathname);
      else stopAnalytics();
    });
  }, [posthog]);

  useEffect(() => {
    if (posthog) pageView(pathname);
  }, [posthog, pathname]);

  useEffect(() => {
    if (posthog && me) identify(me.analytics_id);
  }, [posthog, me]);

  return null;
}
