import { useQuery } from "@tanstack/react-query";

import { client, unwrap } from "@/api/client";
import { Empty, Failed, Loading } from "@/components/States";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { count } from "@/lib/format";

import type { Period } from "../usageFilters";
import { useOrgId } from "../useOrg";

export function Latency({ period }: { period: Period }) {
  const orgId = useOrgId();
  const report = useQuery({
    queryKey: ["orgs", orgId, "usage", "latency", period],
    queryFn: () =>
      unwrap(client.GET("/api/orgs/{org_id}/usage/latency", { params: { path: { org_id: orgId }, query: period } })),
  });
  let body;
  if (report.isPending) body = <Loading label="Loading latency" rows={1} />;
  else if (report.isError) body = <Failed message="Could not load latency." />;
  else if (report.data.groups.length === 0) body = <Empty title="No completed requests in these days." />;
  else
    body = (
      <div className="overflow-x-auto" tabIndex={0} role="region" aria-label="Latency by model">
        <table className="w-full text-sm">
          <caption className="sr-only">Latency percentiles by model</caption>
          <thead className="text-muted-foreground text-left">
            <tr>
              <th className="py-2 font-medium">Model</th>
              <th className="py-2 text-right font-medium">Requests</th>
              <th className="py-2 text-right font-medium">p50</th>
              <th className="py-2 text-right font-medium">p90</th>
              <th className="py-2 text-right font-medium">p99</th>
            </tr>
          </thead>
          <tbody className="divide-y">
            {report.data.groups.map((g) => (
              <tr key={g.model} data-testid="latency-row">
                <td className="py-2 font-mono">{g.model}</td>
                <td className="py-2 text-right">{count(g.requests)}</td>
                <td className="py-2 text-right">{count(g.p50_ms)} ms</td>
                <td className="py-2 text-right">{count(g.p90_ms)} ms</td>
                <td className="py-2 text-right">{count(g.p99_ms)} ms</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    );
  return (
    <Card>
      <CardHeader>
        <CardTitle>Latency</CardTitle>
        <CardDescription>
          Whole-request time of completed requests (the newest {count(report.data?.sample_limit ?? 5000)} of the
          period).
        </CardDescription>
      </CardHeader>
      <CardContent>{body}</CardContent>
    </Card>
  );
}
