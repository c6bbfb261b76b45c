import { Empty, Failed, Loading } from "@/components/States";
import { Badge } from "@/components/ui/badge";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";

import { StatusBanner } from "./status/StatusSummary";
import { barColor, STATUS_LABEL, STATUS_TONE } from "./status/statusTone";
import type { IncidentOut, ServiceOut } from "@/api/types";

import { Subscribe } from "./status/Subscribe";
import { useStatus } from "./status/useStatus";
import { useTitle } from "@/lib/title";

function UptimeBars({ service }: { service: ServiceOut }) {
  return (
    <div>
      <div className="flex h-8 gap-px" role="img" aria-label={`${service.name}: ${service.uptime.length}-day uptime`}>
        {service.uptime.map((day) => (
          <span
            key={day.date}
            title={`${day.date}: ${day.uptime === null ? "no data" : `${(day.uptime * 100).toFixed(2)}%`}`}
            className={`flex-1 rounded-[1px] ${barColor(day.status)}`}
          />
        ))}
      </div>
      <div className="text-muted-foreground mt-1 flex justify-between text-xs">
        <span>{service.uptime.length} days ago</span>
        <span>{service.uptime_percent === null ? "No data" : `${service.uptime_percent.toFixed(2)}% uptime`}</span>
        <span>Today</span>
      </div>
    </div>
  );
}

const SEVERITY_TONE = { critical: "bad", high: "bad", medium: "warn", low: "secondary" } as const;

function Incident({ incident }: { incident: IncidentOut }) {
  return (
    <Card>
      <CardHeader>
        <CardTitle className="flex flex-wrap items-center gap-2">
          {incident.title}
          <Badge variant={incident.status === "resolved" ? "good" : "warn"}>{incident.status}</Badge>
          <Badge variant={SEVERITY_TONE[incident.severity]}>{incident.severity} severity</Badge>
        </CardTitle>
        <CardDescription>
          Affects {incident.service ?? "the whole platform"} · opened {new Date(incident.created_at).toLocaleString()}
          {incident.resolved_at && ` · resolved ${new Date(incident.resolved_at).toLocaleString()}`}
        </CardDescription>
      </CardHeader>
      <CardContent>
        <ol className="grid gap-3 border-l pl-4">
          {incident.updates.map((update) => (
            <li key={update.id} className="text-sm">
              <p>
                <span className="font-medium capitalize">{update.status}</span>{" "}
                <span className="text-muted-foreground">{new Date(update.created_at).toLocaleString()}</span>
              </p>
              <p className="text-muted-foreground">{update.message}</p>
            </li>
          ))}
        </ol>
      </CardContent>
    </Card>
  );
}

export function Status() {
  useTitle("Status");
  const { data, isPending, isError } = useStatus();
  return (
    <div className="grid gap-8">
      <h1 className="text-3xl font-bold tracking-tight">System status</h1>
      {isPending ? (
        <Loading label="Loading status" />
      ) : isError ? (
        <Failed message="Status is unavailable right now. Try again in a minute." />
      ) : (
        <>
          <StatusBanner status={data.status} description={data.description} />
          <section aria-labelledby="services" className="grid gap-4">
            <h2 id="services" className="text-xl font-semibold">
              Services
            </h2>
            {data.services.length === 0 ? (
              <Empty title="No services are monitored yet." />
            ) : (
              <div className="grid gap-4 md:grid-cols-2">
                {data.services.map((service) => (
                  <Card key={service.id} data-testid="service-card">
                    <CardHeader>
                      <CardTitle className="flex items-center justify-between gap-2">
                        {service.name}
                        <Badge variant={STATUS_TONE[service.status]}>{STATUS_LABEL[service.status]}</Badge>
                      </CardTitle>
                      {service.description && <CardDescription>{service.description}</CardDescription>}
                    </CardHeader>
                    <CardContent>
                      <UptimeBars service={service} />
                    </CardContent>
                  </Card>
                ))}
              </div>
            )}
          </section>
          <section aria-labelledby="servers" className="grid gap-4">
            <h2 id="servers" className="text-xl font-semibold">
              Servers
            </h2>
            {data.servers.length === 0 ? (
              <Empty title="No inference servers are registered." />
            ) : (
              <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
                {data.servers.map((server) => (
                  <Card key={server.name} data-testid="server-card">
                    <CardHeader>
                      <CardTitle className="flex items-center justify-between gap-2 text-sm">
                        <span className="font-mono">{server.name}</span>
                        <Badge variant={STATUS_TONE[server.status]}>{STATUS_LABEL[server.status]}</Badge>
                      </CardTitle>
                      <CardDescription>{server.models.join(", ")}</CardDescription>
                    </CardHeader>
                    <CardContent className="text-muted-foreground grid gap-1 text-sm">
                      <p>
                        {server.in_flight} of {server.slots} slots busy
                        {server.draining && " · draining"}
                      </p>
                      <p>{server.latency_ms === null ? "Latency unknown" : `${server.latency_ms} ms`}</p>
                    </CardContent>
                  </Card>
                ))}
              </div>
            )}
          </section>
          <Subscribe />
          <section aria-labelledby="incidents" className="grid gap-4">
            <h2 id="incidents" className="text-xl font-semibold">
              Recent incidents
            </h2>
            {data.incidents.length === 0 ? (
              <Empty title="No incidents reported recently." />
            ) : (
              data.incidents.map((incident) => <Incident key={incident.id} incident={incident} />)
            )}
          </section>
        </>
      )}
    </div>
  );
}
