import { useQuery } from "@tanstack/react-query";

import { client, unwrap } from "@/api/client";

/** The last `days` whole days up to tomorrow's midnight (UTC), as the usage API wants them. */
export function lastDays(days: number, now: Date = new Date()): { start: string; end: string } {
  const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
  const start = new Date(end.getTime() - days * 86_400_000);
  return { start: start.toISOString(), end: end.toISOString() };
}

export function useUsageSummary(orgId: string, days: number) {
  const period = lastDays(days);
  return useQuery({
    queryKey: ["orgs", orgId, "usage", "summary", days],
    queryFn: () =>
      unwrap(client.GET("/api/orgs/{org_id}/usage/summary", { params: { path: { org_id: orgId }, query: period } })),
  });
}

export function useUsageTimeseries(orgId: string, days: number) {
  const period = lastDays(days);
  return useQuery({
    queryKey: ["orgs", orgId, "usage", "timeseries", days],
    queryFn: () =>
      unwrap(
        client.GET("/api/orgs/{org_id}/usage/timeseries", {
          params: { path: { org_id: orgId }, query: { ...period, granularity: "day" } },
        }),
      ),
  });
}

export function useUsageBreakdown(orgId: string, days: number) {
  const period = lastDays(days);
  return useQuery({
    queryKey: ["orgs", orgId, "usage", "breakdown", days],
    queryFn: () =>
      unwrap(
        client.GET("/api/orgs/{org_id}/usage/breakdown", {
          params: { path: { org_id: orgId }, query: { ...period, by: "model" } },
        }),
      ),
  });
}
