import { useQuery } from "@tanstack/react-query";
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

import { client, unwrap } from "@/api/client";
import { computeKeys, type Deployment } from "@/api/compute";
import { Failed, Loading } from "@/components/States";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { count, dateTime, duration } from "@/lib/format";

import { useOrgId } from "../useOrg";
import { hourLabel, summarise, type Series } from "./series";

// Requests land in the current hour at once; asking this often shows them without a reload.
const REFRESH_MS = 5_000;

function Stat({ label, value }: { label: string; value: string }) {
  return (
    <div className="grid gap-1">
      <dt className="text-muted-foreground text-xs">{label}</dt>
      <dd className="text-xl font-semibold" data-testid={`deployment-stat-${label}`}>
        {value}
      </dd>
    </div>
  );
}

/** Requests per hour as bars, and the same figures as a table for those who cannot see it. */
function RequestChart({ series }: { series: Series }) {
  const data = series.points.map((point) => ({ hour: hourLabel(point.start), requests: point.requests }));
  const busy = series.points.filter((point) => point.requests > 0);
  return (
    <figure className="grid gap-2">
      <figcaption className="text-sm font-medium">Requests per hour (UTC)</figcaption>
      <div
        className="h-48"
        role="img"
        aria-label={`Requests per hour: ${count(busy.reduce((sum, point) => sum + point.requests, 0))} in the last 24 hours, by hour in the table that follows`}
        data-testid="deployment-request-chart"
      >
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={data}>
            <CartesianGrid strokeDasharray="3 3" className="stroke-border" />
            <XAxis dataKey="hour" fontSize={12} interval="preserveStartEnd" />
            <YAxis fontSize={12} width={40} allowDecimals={false} />
            <Tooltip />
            <Bar dataKey="requests" name="Requests" fill="var(--color-good)" />
          </BarChart>
        </ResponsiveContainer>
      </div>
      <table className="sr-only" data-testid="deployment-request-table">
        <caption>Requests per hour over the last 24 hours, hours with requests only</caption>
        <thead>
          <tr>
            <th scope="col">Hour (UTC)</th>
            <th scope="col">Requests</th>
            <th scope="col">Average latency</th>
          </tr>
        </thead>
        <tbody>
          {busy.length === 0 ? (
            <tr>
              <td colSpan={3}>No requests in the last 24 hours.</td>
            </tr>
          ) : (
            busy.map((point) => (
              <tr key={point.start}>
                <td>{hourLabel(point.start)}</td>
                <td>{count(point.requests)}</td>
                <td>{point.avg_latency_ms === null ? "—" : `${Math.round(point.avg_latency_ms)} ms`}</td>
              </tr>
            ))
          )}
        </tbody>
      </table>
    </figure>
  );
}

/** Requests, latency, GPU use and uptime over the last 24 hours, with the hourly request chart. */
export function LiveMetrics({ deployment }: { deployment: Deployment }) {
  const orgId = useOrgId();
  const series = useQuery({
    queryKey: [...computeKeys.deployment(orgId, deployment.id), "series"],
    queryFn: () =>
      unwrap(
        client.GET("/api/orgs/{org_id}/deployments/{deployment_id}/metrics/series", {
          params: { path: { org_id: orgId, deployment_id: deployment.id } },
        }),
      ),
    refetchInterval: deployment.state === "ready" || deployment.state === "idle" ? REFRESH_MS : false,
  });
  let body;
  if (series.isPending) body = <Loading label="Loading metrics" rows={1} />;
  else if (series.isError) body = <Failed message="Could not load metrics." />;
  else {
    const day = summarise(series.data.points);
    const gpu = series.data.gpu_util_percent;
    body = (
      <div className="grid gap-6">
        <dl className="grid grid-cols-2 gap-4 sm:grid-cols-4">
          <Stat label="Requests (24h)" value={count(day.requests)} />
          <Stat label="Avg latency" value={day.avgLatencyMs === null ? "—" : `${Math.round(day.avgLatencyMs)} ms`} />
          <Stat label="GPU utilisation" value={gpu === null ? "Not reported" : `${Math.round(gpu)}%`} />
          <Stat
            label="Uptime"
            value={series.data.uptime_seconds === null ? "Not running" : duration(series.data.uptime_seconds)}
          />
        </dl>
        <RequestChart series={series.data} />
      </div>
    );
  }
  return (
    <Card>
      <CardHeader>
        <CardTitle>Metrics</CardTitle>
        <CardDescription>The last 24 hours.</CardDescription>
      </CardHeader>
      <CardContent>{body}</CardContent>
    </Card>
  );
}

/** How many replicas serve it now, the range scaling keeps to, and when it was last woken. */
export function Scaling({ deployment }: { deployment: Deployment }) {
  return (
    <Card>
      <CardHeader>
        <CardTitle>{deployment.mode === "serverless" ? "Serverless scaling" : "Replicas"}</CardTitle>
        <CardDescription>
          {deployment.mode === "serverless"
            ? "Scales to zero when idle; the next request wakes it."
            : "Scale-out adds replicas under load."}
        </CardDescription>
      </CardHeader>
      <CardContent>
        <dl className="grid grid-cols-2 gap-4 sm:grid-cols-4">
          <Stat label="Replicas now" value={count(deployment.replicas)} />
          <Stat label="Starting" value={count(deployment.replicas_starting)} />
          <Stat label="Min / max" value={`${deployment.min_replicas} / ${deployment.max_replicas}`} />
          <Stat
            label="Last cold start"
            value={deployment.cold_start_seconds === null ? "—" : `${deployment.cold_start_seconds.toFixed(1)} s`}
          />
        </dl>
        <p className="text-muted-foreground mt-4 text-sm">
          Last request: <span data-testid="deployment-last-request">{dateTime(deployment.last_request_at)}</span>
        </p>
      </CardContent>
    </Card>
  );
}
