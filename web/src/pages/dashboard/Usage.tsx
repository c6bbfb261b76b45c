import { Download } from "lucide-react";
import { useState } from "react";
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

import { Empty, Failed, Loading } from "@/components/States";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { count, usd } from "@/lib/format";

import { RequestLog } from "./RequestLog";
import { dayCount, defaultFilters, logQuery, periodOf, searchOf, type Period, type UsageFilters } from "./usageFilters";
import { UsageFilterBar } from "./UsageFilterBar";
import { useOrgId } from "./useOrg";
import { useUsageBreakdown, useUsageTimeseries } from "./usePeriod";

const DAYS = 30;

function Chart({ period }: { period: Period }) {
  const orgId = useOrgId();
  const series = useUsageTimeseries(orgId, period);
  if (series.isPending) return <Loading label="Loading usage" rows={1} />;
  if (series.isError) return <Failed message="Could not load usage." />;
  const data = series.data.buckets.map((b) => ({
    day: b.start.slice(5, 10),
    requests: b.requests,
    cost: b.cost_nanos / 1e9,
  }));
  if (data.every((d) => d.requests === 0)) return <Empty title="No requests in these days." />;
  return (
    <div className="h-64" role="img" aria-label="Requests per day">
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={data}>
          <CartesianGrid strokeDasharray="3 3" className="stroke-border" />
          <XAxis dataKey="day" fontSize={12} />
          <YAxis allowDecimals={false} fontSize={12} width={40} />
          <Tooltip />
          <Bar dataKey="requests" fill="var(--color-good)" radius={[3, 3, 0, 0]} />
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}

function ByModel({ period }: { period: Period }) {
  const orgId = useOrgId();
  const breakdown = useUsageBreakdown(orgId, period);
  if (breakdown.isPending) return <Loading label="Loading breakdown" rows={2} />;
  if (breakdown.isError) return <Failed message="Could not load the breakdown." />;
  if (breakdown.data.groups.length === 0) return <Empty title="Nothing to break down yet." />;
  return (
    <div className="overflow-x-auto">
      <table className="w-full text-sm">
        <caption className="sr-only">Usage by model</caption>
        <thead className="text-muted-foreground text-left">
          <tr>
            <th className="py-2 font-medium">Model</th>
            <th className="py-2 text-right font-medium">Requests</th>
            <th className="py-2 text-right font-medium">Tokens</th>
            <th className="py-2 text-right font-medium">Cost</th>
          </tr>
        </thead>
        <tbody className="divide-y">
          {breakdown.data.groups.map((g) => (
            <tr key={g.id}>
              <td className="py-2 font-mono">{g.name}</td>
              <td className="py-2 text-right">{count(g.requests)}</td>
              <td className="py-2 text-right">{count(g.total_tokens)}</td>
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
      <Card>
        <CardHeader>
          <CardTitle>Requests per day</CardTitle>
          <CardDescription>
            {days} day{days === 1 ? "" : "s"}, {filters.from} to {filters.to} (UTC); all models and keys.
          </CardDescription>
        </CardHeader>
        <CardContent>
          <Chart period={period} />
        </CardContent>
      </Card>
      <Card>
        <CardHeader>
          <CardTitle>By model</CardTitle>
        </CardHeader>
        <CardContent>
          <ByModel period={period} />
        </CardContent>
      </Card>
      <RequestLog query={logQuery(filters)} />
    </div>
  );
}
