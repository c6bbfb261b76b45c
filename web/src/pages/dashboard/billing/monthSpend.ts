import { useQuery } from "@tanstack/react-query";

import { client, unwrap } from "@/api/client";
import type { components } from "@/api/schema";

export type Service = components["schemas"]["ServiceSpend"]["service"];

export const SERVICE_LABELS: Record<Service, string> = {
  token_api: "Token API",
  deployments: "Model deployments",
  pods: "Custom pods",
  storage: "Storage",
};

/** This calendar month (UTC) as the usage API takes it: from the 1st to the next month's 1st. */
export function monthBounds(now: Date): { start: string; end: string } {
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth();
  return {
    start: new Date(Date.UTC(year, month, 1)).toISOString(),
    end: new Date(Date.UTC(year, month + 1, 1)).toISOString(),
  };
}

/** What this month cost so far, per service, with the GPU time behind it. */
export function useMonthSpend(orgId: string) {
  const period = monthBounds(new Date());
  return useQuery({
    queryKey: ["orgs", orgId, "usage", "services", period],
    queryFn: () =>
      unwrap(client.GET("/api/orgs/{org_id}/usage/services", { params: { path: { org_id: orgId }, query: period } })),
    // Running deployments add to it by the second.
    refetchInterval: 60_000,
  });
}

/** Hours with one decimal: "127.3". */
export function hours(value: number): string {
  return value.toLocaleString("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
}
