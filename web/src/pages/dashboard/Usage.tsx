import { Download } from "lucide-react";
import { useState } from "react";

import { Empty, Failed, Loading } from "@/components/States";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { count, usd } from "@/lib/format";

import { RequestLog } from "./RequestLog";
import { dayCount, defaultFilters, logQuery, periodOf, searchOf, type Period, type UsageFilters } from "./usageFilters";
import { UsageFilterBar } from "./UsageFilterBar";
import { useOrgId } from "./useOrg";
import { Latency } from "./usage/Latency";
import { UsageCharts } from "./usage/Charts";
import { useUsageBreakdown } from "./usePeriod";

const DAYS = 30;

function Breakdown({ period, by }: { period: Period; by: "model" | "key" }) {
  const orgId = useOrgId();
  const breakdown = useUsageBreakdown(orgId, period, by);
  const label = by === "model" ? "Model" : "API key";
  if (breakdown.isPending) return <Loading label={`Loading usage by ${by}`} rows={2} />;
  if (breakdown.isError) return <Failed message="Could not load the breakdown." />;
  if (breakdown.data.groups.length === 0) return <Empty title="Nothing to break down yet." />;
  return (
    <div className="overflow-x-auto" tabIndex={0} role="region" aria-label={`Usage by ${label.toLowerCase()}`}>
      <table className="w-full text-sm">
        <caption className="sr-only">Usage by {label.toLowerCase()}</caption>
        <thead className="text-muted-foreground text-left">
          <tr>
            <th className="py-2 pr-4 font-medium">{label}</th>
            <th className="py-2 pr-4 text-right font-medium">Requests</th>
            <th className="py-2 pr-4 text-right font-medium">Input tokens</th>
            <th className="py-2 pr-4 text-right font-medium">Output tokens</th>
            <th className="py-2 text-right font-medium">Cost</th>
          </tr>
        </thead>
        <tbody className="divide-y">
          {breakdown.data.groups.map((g) => (
            <tr key={g.id} data-testid={`usage-by-${by}`}>
              <td className="py-2 pr-4">
                <span className={by === "model" ? "font-mono" : ""}>{g.name}</span>
                {g.key_prefix && <code className="text-muted-foreground ml-2 text-xs">{g.key_prefix}…</code>}
              </td>
              <td className="py-2 pr-4 text-right">{count(g.requests)}</td>
              <td className="py-2 pr-4 text-right">{count(g.prompt_tokens)}</td>
              <td className="py-2 pr-4 text-right">{count(g.completion_tokens)}</td>
              <td className="py-2 text-right">{usd(g.cost_nanos)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ExportLink({ filters }: { filters: UsageFilters }) {
  const orgId = useOrgId();
  const query = searchOf(logQuery(filters));
  return (
    <Button variant="outline" size="sm" asChild className="w-fit">
      <a href={`/api/orgs/${orgId}/usage/export.csv?${query}`} download>
        <Download aria-hidden /> Download the request log (CSV)
      </a>
    </Button>
  );
}

export function Usage() {
  const [filters, setFilters] = useState(() => defaultFilters(DAYS));
  const period = periodOf(filters);
  const days = dayCount(filters);
  return (
    <div className="grid gap-4">
      <Card>
        <CardContent className="grid gap-4 pt-6">
          <UsageFilterBar value={filters} onChange={setFilters} days={DAYS} />
          <ExportLink filters={filters} />
        </CardContent>
      </Card>
      <UsageCharts period={period} />
      <p className="text-muted-foreground text-sm">
        {days} day{days === 1 ? "" : "s"}, {filters.from} to {filters.to} (UTC).
      </p>
      <div className="grid gap-4 lg:grid-cols-2">
        <Card>
          <CardHeader>
            <CardTitle>By model</CardTitle>
          </CardHeader>
          <CardContent>
            <Breakdown period={period} by="model" />
          </CardContent>
        </Card>
        <Card>
          <CardHeader>
            <CardTitle>By API key</CardTitle>
          </CardHeader>
          <CardContent>
            <Breakdown period={period} by="key" />
          </CardContent>
        </Card>
      </div>
      <Latency period={period} />
      <RequestLog
        query={{ ...logQuery(filters), refused: true }}
        title="Refused requests"
        description="Requests turned away after the key was accepted, and why. They cost nothing."
        empty="Nothing was refused."
      />
      <RequestLog query={logQuery(filters)} />
    </div>
  );
}
