import type { components } from "@/api/schema";

export type Series = components["schemas"]["DeploymentSeries"];
type Point = components["schemas"]["SeriesPoint"];

/** The day's totals from its hourly points: requests, and the latency averaged over requests
(an hour with many requests weighs more than an hour with one). */
export function summarise(points: Point[]): { requests: number; avgLatencyMs: number | null } {
  let requests = 0;
  let latencyTotal = 0;
  for (const point of points) {
    requests += point.requests;
    if (point.avg_latency_ms !== null) latencyTotal += point.avg_latency_ms * point.requests;
  }
  return { requests, avgLatencyMs: requests === 0 ? null : latencyTotal / requests };
}

/** The hour a point starts, as the chart labels it (UTC, like the server's buckets). */
export function hourLabel(start: string): string {
  return `${start.slice(11, 13)}:00`;
}
