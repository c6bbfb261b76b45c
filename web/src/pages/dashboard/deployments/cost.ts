import type { Deployment } from "@/api/compute";

const MINIMUM_SECONDS = 60;

/** The running total between two reads of the server: what it had charged plus the seconds
the current run has gone on since, at the posted price. The first minute is charged as soon as
the deployment is ready, so seconds inside it add nothing. The server's figure replaces the
estimate on every read, so it never drifts far. */
export function liveCost(deployment: Deployment, fetchedAt: number, now: number): { seconds: number; nanos: number } {
  if (deployment.state !== "ready" || !deployment.ready_at) {
    return { seconds: deployment.runtime_seconds, nanos: deployment.cost_nanos };
  }
  const readyAt = Date.parse(deployment.ready_at);
  const runSeconds = (at: number) => Math.max(0, Math.floor((at - readyAt) / 1000));
  const extra = Math.max(0, runSeconds(now) - Math.max(MINIMUM_SECONDS, runSeconds(fetchedAt)));
  return {
    seconds: deployment.runtime_seconds + extra,
    nanos: deployment.cost_nanos + Math.floor((deployment.price_nanos_per_hour * extra) / 3600),
  };
}
