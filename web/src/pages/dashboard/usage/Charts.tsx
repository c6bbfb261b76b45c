import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

import { client, unwrap } from "@/api/client";
import { SelectField } from "@/components/SelectField";
import { Empty, Failed, Loading } from "@/components/States";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";

import type { Period } from "../usageFilters";
import { useOrgId } from "../useOrg";

type Measure = "cost" | "tokens";
type GroupBy = "model" | "key";
// Distinguishable in both themes; series beyond these repeat them.
const COLORS = ["var(--color-good)", "#6366f1", "#f59e0b", "#ec4899", "#14b8a6", "#8b5cf6"];

/** Cost, or input and output tokens, per day: stacked by model or by key. */
export function UsageCharts({ period }: { period: Period }) {
  const orgId = useOrgId();
  const [measure, setMeasure] = useState<Measure>("cost");
  const [groupBy, setGroupBy] = useState<GroupBy>("model");
  const series = useQuery({
    queryKey: ["orgs", orgId, "usage", "timeseries", period, groupBy],
    queryFn: () =>
      unwrap(
        client.GET("/api/orgs/{org_id}/usage/timeseries", {
          params: { path: { org_id: orgId }, query: { ...period, granularity: "day", group_by: groupBy } },
        }),
      ),
  });
  let chart;
  if (series.isPending) chart = <Loading label="Loading usage" rows={1} />;
  else if (series.isError) chart = <Failed message="Could not load usage." />;
  else if (series.data.buckets.every((b) => b.requests === 0)) chart = <Empty title="No requests in these days." />;
  else {
    const names = [...new Set(series.data.buckets.flatMap((b) => b.groups.map((g) => g.name || g.id)))];
    const keys = measure === "cost" ? names : names.flatMap((name) => [`${name} · input`, `${name} · output`]);
    const data = series.data.buckets.map((bucket) => {
      const row: Record<string, number | string> = { day: bucket.start.slice(5, 10) };
      for (const group of bucket.groups) {
        const name = group.name || group.id;
        if (measure === "cost") row[name] = group.cost_nanos / 1e9;
        else {
          row[`${name} · input`] = group.prompt_tokens;
          row[`${name} · output`] = group.completion_tokens;
        }
      }
      return row;
    });
    chart = (
      <div className="h-72" role="img" aria-label={`${measure === "cost" ? "Cost" : "Tokens"} per day by ${groupBy}`}>
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={data}>
            <CartesianGrid strokeDasharray="3 3" className="stroke-border" />
            <XAxis dataKey="day" fontSize={12} />
            <YAxis fontSize={12} width={56} />
            <Tooltip />
            <Legend />
            {keys.map((key, index) => (
              <Bar key={key} dataKey={key} stackId="usage" fill={COLORS[index % COLORS.length]} />
            ))}
          </BarChart>
        </ResponsiveContainer>
      </div>
    );
  }
  return (
    <Card>
      <CardHeader>
        <CardTitle>Usage per day</CardTitle>
        <CardDescription>Cost in dollars, or tokens split into input and output (UTC days).</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        <div className="flex flex-wrap gap-4">
          <SelectField
            label="Show"
            value={measure}
            onChange={(event) => setMeasure(event.target.value as Measure)}
            options={[
              { value: "cost", label: "Cost" },
              { value: "tokens", label: "Tokens (input / output)" },
            ]}
          />
          <SelectField
            label="By"
            value={groupBy}
            onChange={(event) => setGroupBy(event.target.value as GroupBy)}
            options={[
              { value: "model", label: "Model" },
              { value: "key", label: "API key" },
            ]}
          />
        </div>
        {chart}
      </CardContent>
    </Card>
  );
}
