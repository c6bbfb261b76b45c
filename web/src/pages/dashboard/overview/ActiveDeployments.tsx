import { Plus } from "lucide-react";
import { Link } from "react-router-dom";

import { gpuLabel, type Deployment } from "@/api/compute";
import { usePods, type Pod } from "@/api/pods";
import { CopyButton } from "@/components/CodeTabs";
import { Failed, Loading } from "@/components/States";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { usd } from "@/lib/format";

import { useCanManage, useDeploymentActions } from "../deployments/actions";
import { StateBadge } from "../deployments/StateBadge";
import { useDeployments } from "../Deployments";
import { PodStateBadge, STOPPABLE, usePodActions } from "../pods/actions";
import { useOrg } from "../useOrg";

/** Running, starting or waiting to: what the overview lists. */
export const ACTIVE = new Set<Deployment["state"]>(["idle", "pending", "starting", "ready"]);

function Actions({ deployment }: { deployment: Deployment }) {
  const { stop } = useDeploymentActions(deployment);
  const canManage = useCanManage();
  const page = `/dashboard/deployments/${deployment.id}`;
  return (
    <div className="flex flex-wrap gap-2">
      {canManage && (
        <Button variant="outline" size="sm" onClick={() => void stop()} aria-label={`Stop ${deployment.name}`}>
          Stop
        </Button>
      )}
      <Button variant="outline" size="sm" asChild>
        <Link to={`${page}#connection`} aria-label={`API of ${deployment.name}`}>
          API
        </Link>
      </Button>
      <Button variant="outline" size="sm" asChild>
        <Link to={`${page}#logs`} aria-label={`Logs of ${deployment.name}`}>
          Logs
        </Link>
      </Button>
    </div>
  );
}

/** Stop, and the ssh command to copy once the pod runs. */
function PodActions({ pod }: { pod: Pod }) {
  const { stop } = usePodActions(pod);
  const canManage = useCanManage();
  const ssh = pod.connection?.ssh;
  return (
    <div className="flex flex-wrap items-center gap-2">
      {canManage && (
        <Button variant="outline" size="sm" onClick={() => void stop()} aria-label={`Stop ${pod.name}`}>
          Stop
        </Button>
      )}
      {ssh && (
        <span className="inline-flex items-center text-sm">
          SSH
          <CopyButton text={ssh} label={`Copy the SSH command of ${pod.name}`} />
        </span>
      )}
    </div>
  );
}

/** What runs now (deployments and pods), what it costs per hour, and the way to each
deployment's API and logs and each pod's SSH. */
export function ActiveDeployments() {
  const deployments = useDeployments();
  const pods = usePods(useOrg().id);
  const active = (deployments.data ?? []).filter((d) => ACTIVE.has(d.state));
  const activePods = (pods.data ?? []).filter((pod) => STOPPABLE.has(pod.state));
  const perHour =
    active.filter((d) => d.state === "ready").reduce((sum, d) => sum + d.price_nanos_per_hour, 0) +
    activePods.filter((pod) => pod.state === "running").reduce((sum, pod) => sum + pod.price.nanos_per_hour, 0);
  const total = active.length + activePods.length;
  return (
    <Card>
      <CardHeader className="flex flex-wrap items-start justify-between gap-2">
        <div className="grid gap-1.5">
          <CardTitle>Active deployments</CardTitle>
          <CardDescription>
            {total === 0 ? "Nothing runs now." : `${total} active, ${usd(perHour)}/hr for those running.`}{" "}
            <Link to="/dashboard/deployments" className="underline underline-offset-4">
              All deployments
            </Link>
          </CardDescription>
        </div>
        <Button asChild size="sm">
          <Link to="/gpu">
            <Plus aria-hidden /> Deploy new model
          </Link>
        </Button>
      </CardHeader>
      {(deployments.isPending || deployments.isError || total > 0) && (
        <CardContent>
          {deployments.isPending ? (
            <Loading label="Loading deployments" rows={1} />
          ) : deployments.isError ? (
            <Failed message="Could not load your deployments." />
          ) : (
            <div className="overflow-x-auto" tabIndex={0} role="region" aria-label="Active deployments table">
              <table className="w-full text-sm">
                <caption className="sr-only">
                  Active deployments and pods with their status, GPU and hourly price
                </caption>
                <thead className="text-muted-foreground text-left">
                  <tr>
                    <th className="py-2 pr-4 font-medium">Model</th>
                    <th className="py-2 pr-4 font-medium">Status</th>
                    <th className="py-2 pr-4 font-medium">GPU</th>
                    <th className="py-2 pr-4 text-right font-medium">Cost/hr</th>
                    <th className="py-2 font-medium">Actions</th>
                  </tr>
                </thead>
                <tbody className="divide-y">
                  {active.map((d) => (
                    <tr key={d.id} data-testid="active-deployment">
                      <td className="py-2 pr-4">
                        <Link
                          to={`/dashboard/deployments/${d.id}`}
                          className="font-medium underline-offset-4 hover:underline"
                        >
                          {d.name}
                        </Link>
                      </td>
                      <td className="py-2 pr-4">
                        <StateBadge state={d.state} />
                      </td>
                      <td className="py-2 pr-4 whitespace-nowrap">{gpuLabel(d)}</td>
                      <td className="py-2 pr-4 text-right whitespace-nowrap tabular-nums">
                        {usd(d.price_nanos_per_hour)}
                      </td>
                      <td className="py-2">
                        <Actions deployment={d} />
                      </td>
                    </tr>
                  ))}
                  {activePods.map((pod) => (
                    <tr key={pod.id} data-testid="active-pod">
                      <td className="py-2 pr-4">
                        <Link to="/dashboard/pods" className="font-medium underline-offset-4 hover:underline">
                          {pod.name}
                        </Link>
                        <span className="text-muted-foreground block text-xs">Custom pod</span>
                      </td>
                      <td className="py-2 pr-4">
                        <PodStateBadge pod={pod} />
                      </td>
                      <td className="py-2 pr-4 whitespace-nowrap">{gpuLabel(pod)}</td>
                      <td className="py-2 pr-4 text-right whitespace-nowrap tabular-nums">
                        {usd(pod.price.nanos_per_hour)}
                      </td>
                      <td className="py-2">
                        <PodActions pod={pod} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </CardContent>
      )}
    </Card>
  );
}
