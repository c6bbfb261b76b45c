import { Failed, Loading } from "@/components/States";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { usd } from "@/lib/format";

import { useOrgId } from "../useOrg";
import { hours, SERVICE_LABELS, useMonthSpend } from "./monthSpend";

function Figure({ label, value }: { label: string; value: string }) {
  return (
    <div className="grid gap-1">
      <dt className="text-muted-foreground text-sm">{label}</dt>
      <dd className="text-2xl font-semibold" data-testid={`month-${label}`}>
        {value}
      </dd>
    </div>
  );
}

/** This month so far: total, GPU-hours, the average hourly cost of deployments, and the
split by service as bars. */
export function ThisMonth() {
  const orgId = useOrgId();
  const month = useMonthSpend(orgId);
  return (
    <Card>
      <CardHeader>
        <CardTitle>This month</CardTitle>
        <CardDescription>Since the 1st (UTC), every service from the same balance.</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-6">
        {month.isPending ? (
          <Loading label="Loading this month's spend" rows={2} />
        ) : month.isError ? (
          <Failed message="Could not load this month's spend." />
        ) : (
          <>
            <dl className="grid gap-4 sm:grid-cols-3">
              <Figure label="Total spend" value={usd(month.data.total_cost_nanos)} />
              <Figure label="GPU-hours" value={hours(month.data.gpu_hours)} />
              <Figure
                label="Avg cost/hour"
                value={
                  month.data.average_cost_per_hour_usd === null
                    ? "—"
                    : `$${Number(month.data.average_cost_per_hour_usd).toFixed(2)}`
                }
              />
            </dl>
            <div className="grid gap-3">
              <h3 className="text-sm font-medium">By service</h3>
              <ul className="grid gap-3" aria-label="Spend by service">
                {month.data.services.map((line) => {
                  const total = month.data.total_cost_nanos;
                  const share = total > 0 ? Math.round((line.cost_nanos / total) * 100) : 0;
                  return (
                    <li
                      key={line.service}
                      className="grid grid-cols-[8rem_1fr] items-center gap-x-3 gap-y-1 text-sm sm:grid-cols-[10rem_1fr_9rem]"
                      data-testid="service-spend"
                    >
                      <span>{SERVICE_LABELS[line.service]}</span>
                      <span aria-hidden className="bg-muted h-2.5 overflow-hidden rounded-full">
                        <span className="bg-primary block h-full rounded-full" style={{ width: `${share}%` }} />
                      </span>
                      <span className="col-start-2 tabular-nums sm:col-start-3 sm:text-right">
                        {usd(line.cost_nanos)} ({share}%)
                      </span>
                    </li>
                  );
                })}
              </ul>
            </div>
          </>
        )}
      </CardContent>
    </Card>
  );
}
