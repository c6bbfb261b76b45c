import { useQuery } from "@tanstack/react-query";
import { ArrowLeft, Rocket } from "lucide-react";
import { Link, useParams } from "react-router-dom";

import { deploymentsQuery, gpuLabel } from "@/api/compute";
import { ListCard } from "@/components/ListCard";
import { Button } from "@/components/ui/button";
import { usd } from "@/lib/format";

import { DeploymentButtons } from "./deployments/actions";
import { ComputeTableHead } from "./deployments/ComputeTableHead";
import { DeploymentDetail } from "./deployments/DeploymentDetail";
import { StateBadge } from "./deployments/StateBadge";
import { useOrg } from "./useOrg";

export function useDeployments() {
  return useQuery(deploymentsQuery(useOrg().id));
}

function DeploymentList() {
  return (
    <ListCard
      title="Deployments"
      description="Models running on GPUs of your own, billed per second while ready (minimum 1 minute per start)."
      action={
        <Button asChild size="sm">
          <Link to="/gpu">
            <Rocket aria-hidden /> Deploy a model
          </Link>
        </Button>
      }
      query={useDeployments()}
      noun="deployments"
      empty={
        <p>
          Pick a model in the{" "}
          <Link to="/gpu" className="underline underline-offset-4">
            GPU catalog
          </Link>{" "}
          and deploy it in one click.
        </p>
      }
    >
      {(items) => (
        <div className="overflow-x-auto" tabIndex={0} role="region" aria-label="Deployments table">
          <table className="w-full text-sm">
            <caption className="sr-only">Your deployments with their state, GPU, hourly price and cost so far</caption>
            <ComputeTableHead />
            <tbody className="divide-y">
              {items.map((deployment) => (
                <tr key={deployment.id} data-testid="deployment-row">
                  <td className="py-3 pr-4 align-top">
                    <Link
                      to={`/dashboard/deployments/${deployment.id}`}
                      className="font-medium underline-offset-4 hover:underline"
                    >
                      {deployment.name}
                    </Link>
                    <span className="text-muted-foreground block text-xs">{deployment.catalog_slug}</span>
                  </td>
                  <td className="py-3 pr-4 align-top">
                    <StateBadge state={deployment.state} />
                  </td>
                  <td className="py-3 pr-4 align-top whitespace-nowrap">{gpuLabel(deployment)}</td>
                  <td className="py-3 pr-4 text-right align-top whitespace-nowrap">
                    {usd(deployment.price_nanos_per_hour)}
                  </td>
                  <td className="py-3 pr-4 text-right align-top whitespace-nowrap">{usd(deployment.cost_nanos)}</td>
                  <td className="py-3 align-top">
                    <DeploymentButtons deployment={deployment} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </ListCard>
  );
}

export function Deployments() {
  const { item } = useParams();
  if (!item) return <DeploymentList />;
  return (
    <div className="grid gap-4">
      <div>
        <Button asChild variant="ghost" size="sm">
          <Link to="/dashboard/deployments">
            <ArrowLeft aria-hidden /> All deployments
          </Link>
        </Button>
      </div>
      <DeploymentDetail id={item} />
    </div>
  );
}
