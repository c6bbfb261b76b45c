import type { DeploymentState } from "@/api/compute";
import { Badge } from "@/components/ui/badge";

const VARIANTS: Record<DeploymentState, "good" | "warn" | "secondary" | "bad"> = {
  pending: "warn",
  idle: "secondary", // serverless at zero: the next request wakes it
  starting: "warn",
  ready: "good",
  stopping: "warn",
  stopped: "secondary",
  failed: "bad",
  deleting: "warn",
  deleted: "secondary",
};

export function StateBadge({ state }: { state: DeploymentState }) {
  return (
    <Badge variant={VARIANTS[state]} data-testid="deployment-state">
      <span aria-hidden>●</span> {state}
    </Badge>
  );
}
