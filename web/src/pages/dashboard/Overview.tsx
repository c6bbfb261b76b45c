import { useQuery } from "@tanstack/react-query";

import { client, unwrap } from "@/api/client";
import { queryKeys, useBaseUrl } from "@/api/hooks";
import { CodeTabs } from "@/components/CodeTabs";
import { Skeleton } from "@/components/ui/skeleton";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { chatExample } from "@/lib/examples";
import { count, usd } from "@/lib/format";

import { useOrg } from "./useOrg";
import { useUsageSummary } from "./usePeriod";

function Stat({ label, value }: { label: string; value: string | undefined }) {
  return (
    <Card className="gap-2">
      <CardHeader>
        <CardDescription>{label}</CardDescription>
      </CardHeader>
      <CardContent className="text-2xl font-semibold">
        {value === undefined ? <Skeleton className="h-8 w-24" /> : value}
      </CardContent>
    </Card>
  );
}

export function Overview() {
  const org = useOrg();
  const orgId = org.id;
  const base = useBaseUrl();
  const summary = useUsageSummary(orgId, 30);
  const keys = useQuery({
    queryKey: queryKeys.keys(orgId),
    queryFn: () => unwrap(client.GET("/api/orgs/{org_id}/keys", { params: { path: { org_id: orgId } } })),
  });
  return (
    <div className="grid gap-4">
      <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
        <Stat label="Organisation" value={`${org.name} (${org.role})`} />
        <Stat label="Spend this month" value={summary.data && usd(summary.data.month_to_date_cost_nanos)} />
        <Stat label="Requests, last 30 days" value={summary.data && count(summary.data.requests)} />
        <Stat label="Active keys" value={keys.data && count(keys.data.filter((k) => k.status === "active").length)} />
      </div>
      <Card>
        <CardHeader>
          <CardTitle>Make your first call</CardTitle>
          <CardDescription>Create a key under API Keys, export it as GPTAPI_KEY, and run:</CardDescription>
        </CardHeader>
        <CardContent>
          <CodeTabs example={chatExample(base)} />
        </CardContent>
      </Card>
    </div>
  );
}
