import { Link } from "react-router-dom";

import { ScrollTable } from "@/components/ScrollTable";
import { Failed, Loading } from "@/components/States";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";

import { StateBadge } from "../deployments/StateBadge";
import { useDeployments } from "../Deployments";

/** Each deployment's sk_dep_ key by prefix; keys are issued and replaced on the deployment's
own page, where the new one is shown once. */
export function DeploymentKeys() {
  const deployments = useDeployments();
  return (
    <Card>
      <CardHeader>
        <CardTitle>Deployment API keys</CardTitle>
        <CardDescription>
          These keys are scoped to one deployment each, for inference only: safe to hand to its clients.
        </CardDescription>
      </CardHeader>
      <CardContent>
        {deployments.isPending ? (
          <Loading label="Loading deployment keys" rows={1} />
        ) : deployments.isError ? (
          <Failed message="Could not load your deployments." />
        ) : deployments.data.length === 0 ? (
          <p className="text-muted-foreground text-sm">
            No deployments yet. Each{" "}
            <Link to="/gpu" className="underline underline-offset-4">
              deployment
            </Link>{" "}
            can have a key of its own.
          </p>
        ) : (
          <ScrollTable
            label="Deployment keys table"
            caption="Deployments with the prefix of their key and their status"
            columns={[{ name: "Deployment" }, { name: "Key" }, { name: "Status" }, { name: "Actions" }]}
          >
            {deployments.data.map((d) => (
              <tr key={d.id} data-testid="deployment-key-row">
                <td className="py-2 pr-4 font-medium">{d.name}</td>
                <td className="py-2 pr-4 whitespace-nowrap">
                  {d.key_prefix ? <code>{d.key_prefix}••••</code> : <span className="text-muted-foreground">none</span>}
                </td>
                <td className="py-2 pr-4">
                  <StateBadge state={d.state} />
                </td>
                <td className="py-2">
                  <Link
                    to={`/dashboard/deployments/${d.id}#connection`}
                    className="underline underline-offset-4"
                    aria-label={d.key_prefix ? `Regenerate the key of ${d.name}` : `Create key for ${d.name}`}
                  >
                    {d.key_prefix ? "Regenerate" : "Create key"}
                  </Link>
                </td>
              </tr>
            ))}
          </ScrollTable>
        )}
      </CardContent>
    </Card>
  );
}
