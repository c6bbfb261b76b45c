import type { ServiceStatus } from "@/api/types";

export type { ServiceStatus };

export const STATUS_LABEL: Record<ServiceStatus, string> = {
  operational: "Operational",
  degraded_performance: "Degraded performance",
  partial_outage: "Partial outage",
  major_outage: "Major outage",
};

export const STATUS_TONE: Record<ServiceStatus, "good" | "warn" | "bad"> = {
  operational: "good",
  degraded_performance: "warn",
  partial_outage: "warn",
  major_outage: "bad",
};

/** Tailwind background for a day's bar: grey when nothing was sampled. */
export function barColor(status: ServiceStatus | null | undefined): string {
  if (!status) return "bg-muted";
  return { good: "bg-good", warn: "bg-warn", bad: "bg-bad" }[STATUS_TONE[status]];
}
