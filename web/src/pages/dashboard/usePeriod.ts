import { useQuery } from "@tanstack/react-query";

import { client, unwrap } from "@/api/client";

import { defaultFilters, periodOf, type Period } from "./usageFilters";

export function useUsageSummary(orgId: string, days: number) {
  const period = periodOf(defaultFilters(days));
  return useQuery({
    queryKey: ["orgs", orgId, "usage", "summary", period],
    queryFn: () =>
      unwrap(client.GET("/api/orgs/{org_id}/usage/summary", { params: { path: { org_id: orgId }, query: period } })),
  });
}

export function useUsageBreakdown(orgId: string, period: Period, by: "model" | "key") {
  return useQuery({
    queryKey: ["orgs", orgId, "usage", "breakdown", period, by],
    queryFn: () =>
      unwrap(
        client.GET("/api/orgs/{org_id}/usage/breakdown", {
          params: { path: { org_id: orgId }, query: { ...period, by } },
        }),
      ),
  });
}
