import { client, unwrap } from "@/api/client";
import { podKeys, type Pod, type PodState } from "@/api/pods";
import { Badge } from "@/components/ui/badge";

import { useChanges } from "../useChanges";
import { useOrg } from "../useOrg";

const VARIANTS: Record<PodState, "good" | "warn" | "secondary" | "bad"> = {
  pending: "warn",
  starting: "warn",
  running: "good",
  stopping: "warn",
  stopped: "secondary",
  failed: "bad",
  terminating: "warn",
  terminated: "secondary",
};

export function PodStateBadge({ pod }: { pod: Pod }) {
  return (
    <Badge variant={VARIANTS[pod.state]} data-testid="pod-state" title={pod.state_reason || undefined}>
      <span aria-hidden>●</span> {pod.state}
    </Badge>
  );
}

/** Pods that run or are about to: the ones Stop applies to, and the overview lists. */
export const STOPPABLE: ReadonlySet<PodState> = new Set(["pending", "starting", "running"]);

/** Start, Stop and Terminate through the server; Terminate asks first. */
export function usePodActions(pod: Pod) {
  const orgId = useOrg().id;
  const { run, confirm } = useChanges([podKeys.pods(orgId), ["orgs", orgId, "audit"]]);
  const path = { params: { path: { org_id: orgId, pod_id: pod.id } } };
  return {
    stop: () => run(() => unwrap(client.POST("/api/orgs/{org_id}/pods/{pod_id}/stop", path)), `Stopping ${pod.name}.`),
    start: () =>
      run(() => unwrap(client.POST("/api/orgs/{org_id}/pods/{pod_id}/start", path)), `Starting ${pod.name}.`),
    terminate: () =>
      confirm({
        title: `Terminate ${pod.name}?`,
        description:
          "The pod and its volume are deleted for good, with whatever /workspace holds. What it cost stays in your billing.",
        confirmLabel: "Terminate pod",
        call: () => unwrap(client.DELETE("/api/orgs/{org_id}/pods/{pod_id}", path)),
        done: `Terminating ${pod.name}.`,
      }),
  };
}
