import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";

import { client, reportError, unwrap } from "@/api/client";
import type { components } from "@/api/schema";
import { Field } from "@/components/Field";
import { Empty, Failed, Loading } from "@/components/States";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { dateTime } from "@/lib/format";
import { notify } from "@/lib/toast";

import { useOrgId } from "../useOrg";

type Delivery = components["schemas"]["DeliveryOut"];

const TONE = { succeeded: "good", failed: "bad", pending: "secondary" } as const;

export const deliveriesKey = (orgId: string, endpointId: string) =>
  ["orgs", orgId, "webhooks", endpointId, "deliveries"] as const;

function usePath(endpointId: string) {
  const orgId = useOrgId();
  return { orgId, path: { org_id: orgId, endpoint_id: endpointId } };
}

/** The request that was signed and every attempt to deliver it. */
function DeliveryDetail({ endpointId, deliveryId }: { endpointId: string; deliveryId: string }) {
  const { orgId, path } = usePath(endpointId);
  const detail = useQuery({
    queryKey: [...deliveriesKey(orgId, endpointId), deliveryId],
    queryFn: () =>
      unwrap(
        client.GET("/api/orgs/{org_id}/webhooks/{endpoint_id}/deliveries/{delivery_id}", {
          params: { path: { ...path, delivery_id: deliveryId } },
        }),
      ),
  });
  if (detail.isPending) return <Loading label="Loading delivery" rows={1} />;
  if (detail.isError) return <Failed message="Could not load this delivery." />;
  return (
    <div className="grid gap-2 text-xs">
      <pre className="bg-muted max-h-48 overflow-auto rounded-md p-2">{detail.data.request_body}</pre>
      <ol className="grid gap-1" aria-label="Attempts">
        {detail.data.attempt_log.map((attempt) => (
          <li key={attempt.attempt} className="flex flex-wrap gap-2">
            <span className="font-medium">#{attempt.attempt}</span>
            <span>{dateTime(attempt.created_at)}</span>
            <span>{attempt.response_status ?? "no response"}</span>
            <span>{attempt.latency_ms} ms</span>
            {attempt.error && <span className="text-bad-strong">{attempt.error}</span>}
          </li>
        ))}
      </ol>
    </div>
  );
}

function DeliveryRow({ endpointId, delivery }: { endpointId: string; delivery: Delivery }) {
  const { orgId, path } = usePath(endpointId);
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const retry = useMutation({
    mutationFn: () =>
      unwrap(
        client.POST("/api/orgs/{org_id}/webhooks/{endpoint_id}/deliveries/{delivery_id}/retry", {
          params: { path: { ...path, delivery_id: delivery.id } },
        }),
      ),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: deliveriesKey(orgId, endpointId) });
      notify.good("Delivery queued again.");
    },
    onError: reportError,
  });
  return (
    <li className="grid gap-2 py-2">
      <div className="flex flex-wrap items-center gap-2 text-sm">
        <Badge variant={TONE[delivery.status]}>{delivery.status}</Badge>
        <code>{delivery.event_type}</code>
        <span className="text-muted-foreground">
          {dateTime(delivery.created_at)} · {delivery.attempts} attempt{delivery.attempts === 1 ? "" : "s"}
          {delivery.last_response_status !== null && ` · HTTP ${delivery.last_response_status}`}
        </span>
        <span className="ml-auto flex gap-2">
          <Button variant="ghost" size="sm" aria-expanded={open} onClick={() => setOpen(!open)}>
            {open ? "Hide" : "Details"}
          </Button>
          {delivery.status !== "succeeded" && (
            <Button variant="outline" size="sm" disabled={retry.isPending} onClick={() => retry.mutate()}>
              Retry
            </Button>
          )}
        </span>
      </div>
      {open && <DeliveryDetail endpointId={endpointId} deliveryId={delivery.id} />}
    </li>
  );
}

/** Send again every event of a time range the endpoint did not receive. */
function ReplayForm({ endpointId }: { endpointId: string }) {
  const { orgId, path } = usePath(endpointId);
  const queryClient = useQueryClient();
  const replay = useMutation({
    mutationFn: (body: { since: string; until: string | null }) =>
      unwrap(client.POST("/api/orgs/{org_id}/webhooks/{endpoint_id}/replay", { params: { path }, body })),
    onSuccess: async (done) => {
      await queryClient.invalidateQueries({ queryKey: deliveriesKey(orgId, endpointId) });
      notify.good(`${done.replayed} deliver${done.replayed === 1 ? "y" : "ies"} queued again.`);
    },
    onError: reportError,
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    // datetime-local values are the browser's local time; the API wants an offset.
    const since = new Date(String(form.get("since"))).toISOString();
    const untilText = String(form.get("until") ?? "");
    replay.mutate({ since, until: untilText ? new Date(untilText).toISOString() : null });
  };
  return (
    <form onSubmit={submit} aria-label="Replay events" className="flex flex-wrap items-end gap-2">
      <Field label="Replay from" name="since" type="datetime-local" required />
      <Field label="Until (empty: now)" name="until" type="datetime-local" />
      <Button type="submit" variant="outline" size="sm" disabled={replay.isPending}>
        Replay
      </Button>
    </form>
  );
}

/** The endpoint's delivery log, newest first, with retry and replay. */
export function Deliveries({ endpointId }: { endpointId: string }) {
  const { orgId, path } = usePath(endpointId);
  const deliveries = useQuery({
    queryKey: deliveriesKey(orgId, endpointId),
    queryFn: () =>
      unwrap(
        client.GET("/api/orgs/{org_id}/webhooks/{endpoint_id}/deliveries", {
          params: { path, query: { limit: 50 } },
        }),
      ),
  });
  return (
    <section className="bg-muted/30 grid gap-3 rounded-lg border p-3" aria-label="Delivery log">
      <ReplayForm endpointId={endpointId} />
      {deliveries.isPending ? (
        <Loading label="Loading deliveries" rows={2} />
      ) : deliveries.isError ? (
        <Failed message="Could not load deliveries." />
      ) : deliveries.data.length === 0 ? (
        <Empty title="Nothing delivered yet." />
      ) : (
        <ul className="divide-y">
          {deliveries.data.map((delivery) => (
            <DeliveryRow key={delivery.id} endpointId={endpointId} delivery={delivery} />
          ))}
        </ul>
      )}
    </section>
  );
}
