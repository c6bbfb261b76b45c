import { client, unwrap } from "@/api/client";
import { computeKeys, type Deployment } from "@/api/compute";
import { Button } from "@/components/ui/button";

import { useChanges } from "../useChanges";
import { useOrg } from "../useOrg";

const WRITE_ROLES = new Set(["owner", "admin", "developer"]);

/** Whether the signed-in member may stop, start, delete and issue keys. */
export function useCanManage(): boolean {
  return WRITE_ROLES.has(useOrg().role);
}

/** Stop, Start and Delete, each through the server; Delete asks first. */
export function useDeploymentActions(deployment: Deployment, onDeleted?: () => void) {
  const orgId = useOrg().id;
  // The audit log (the overview's recent activity) records every change too.
  const { run, confirm } = useChanges([computeKeys.deployments(orgId), ["orgs", orgId, "audit"]]);
  const path = { params: { path: { org_id: orgId, deployment_id: deployment.id } } };
  return {
    stop: () =>
      run(
        () => unwrap(client.POST("/api/orgs/{org_id}/deployments/{deployment_id}/stop", path)),
        `Stopping ${deployment.name}.`,
      ),
    start: () =>
      run(
        () => unwrap(client.POST("/api/orgs/{org_id}/deployments/{deployment_id}/start", path)),
        `Starting ${deployment.name}.`,
      ),
    remove: () =>
      confirm({
        title: `Delete ${deployment.name}?`,
        description:
          "It stops if it runs, its key stops working and it leaves this list. What it cost stays in your billing.",
        confirmLabel: "Delete deployment",
        call: () => unwrap(client.DELETE("/api/orgs/{org_id}/deployments/{deployment_id}", path)),
        done: `${deployment.name} deleted.`,
        after: onDeleted,
      }),
  };
}

export function DeploymentButtons({ deployment, onDeleted }: { deployment: Deployment; onDeleted?: () => void }) {
  const actions = useDeploymentActions(deployment, onDeleted);
  const canManage = useCanManage();
  if (!canManage) return null;
  // An idle serverless deployment can be stopped too, so no request wakes it.
  const running = ["pending", "idle", "starting", "ready"].includes(deployment.state);
  const restartable = ["stopped", "failed"].includes(deployment.state);
  return (
    <div className="flex flex-wrap gap-2">
      {running && (
        <Button variant="outline" size="sm" onClick={() => void actions.stop()} aria-label={`Stop ${deployment.name}`}>
          Stop
        </Button>
      )}
      {restartable && (
        <Button
          variant="outline"
          size="sm"
          onClick={() => void actions.start()}
          aria-label={`Start ${deployment.name}`}
        >
          Start
        </Button>
      )}
      {deployment.state !== "deleting" && (
        <Button variant="outline" size="sm" onClick={actions.remove} aria-label={`Delete ${deployment.name}`}>
          Delete
        </Button>
      )}
    </div>
  );
}
