import { Plus } from "lucide-react";
import { Link } from "react-router-dom";

import { gpuLabel, type Deployment } from "@/api/compute";
import { Failed, Loading } from "@/components/States";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { usd } from "@/lib/format";

import { useCanManage, useDeploymentActions } from "../deployments/actions";
import { StateBadge } from "../deployments/StateBadge";
import { useDeployments } from "../Deployments";

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

/** What runs now, what it costs per hour, and the way to each one's API and logs. */
export function ActiveDeployments() {
  const deployments = useDeployments();
  const active = (deployments.data ?? []).filter((d) => ACTIVE.has(d.state));
  const perHour = active.filter((d) => d.state === "ready").reduce((sum, d) => sum + d.price_nanos_per_hour, 0);
  return (
    <Card>
      <CardHeader className="flex flex-wrap items-start justify-between gap-2">
        <div className="grid gap-1.5">
          <CardTitle>Active deployments</CardTitle>
          <CardDescription>
            {active.length === 0 ? "Nothing runs now." : `${active.length} active, ${usd(perHour)}/hr for those ready.`}{" "}
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
      {(deployments.isPending || deployments.isError || active.length > 0) && (
        <CardContent>
          {deployments.isPending ? (
            <Loading label="Loading deployments" rows={1} />
          ) : deployments.isError ? (
            <Failed message="Could not load your deployments." />
          ) : (
            <div className="overflow-x-auto" tabIndex={0} role="region" aria-label="Active deployments table">
              <table className="w-full text-sm">
                <caption className="sr-only">Active deployments with their status, GPU and hourly price</caption>
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
                </tbody>
              </table>
            </div>
          )}
        </CardContent>
      )}
    </Card>
  );
}
