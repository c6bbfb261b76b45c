import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";

import { client, reportError, unwrap } from "@/api/client";
import type { components } from "@/api/schema";
import { CopyButton } from "@/components/CodeTabs";
import { Field } from "@/components/Field";
import { useModal } from "@/components/modals/ModalContext";
import { Empty, Failed, Loading } from "@/components/States";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { notify } from "@/lib/toast";

import { useOrgId } from "./useOrg";
import { Deliveries, deliveriesKey } from "./webhooks/Deliveries";
import { webhooksKey } from "./webhooks/keys";

type Endpoint = components["schemas"]["EndpointOut"];
type EventType = components["schemas"]["EndpointCreate"]["event_types"][number];

function CreateEndpoint({ onCreated }: { onCreated: (secret: string) => void }) {
  const orgId = useOrgId();
  const queryClient = useQueryClient();
  const types = useQuery({
    queryKey: ["webhook-event-types"],
    queryFn: () => unwrap(client.GET("/api/webhooks/event-types")),
    staleTime: Infinity,
  });
  const create = useMutation({
    mutationFn: (body: { url: string; event_types: EventType[] }) =>
      unwrap(
        client.POST("/api/orgs/{org_id}/webhooks", {
          params: { path: { org_id: orgId } },
          body: { ...body, description: "", enabled: true },
        }),
      ),
    onSuccess: async (created) => {
      await queryClient.invalidateQueries({ queryKey: webhooksKey(orgId) });
      onCreated(created.secret);
    },
    onError: reportError,
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    // The boxes list the server's own event types.
    const chosen = form.getAll("event_types").map((value) => String(value) as EventType);
    if (chosen.length === 0) {
      notify.warn("Choose at least one event type.");
      return;
    }
    create.mutate({ url: String(form.get("url")), event_types: chosen });
  };
  return (
    <form onSubmit={submit} aria-label="Add an endpoint" className="grid gap-4">
      <Field label="Endpoint URL" name="url" type="url" required placeholder="https://example.com/hooks/gptapi" />
      <fieldset className="grid gap-2">
        <legend className="mb-2 text-sm font-medium">Events</legend>
        {types.isPending ? (
          <Loading label="Loading event types" rows={1} />
        ) : types.isError ? (
          <Failed message="Could not load event types." />
        ) : (
          <div className="grid gap-2 sm:grid-cols-2">
            {types.data.map((type) => (
              <label key={type.name} className="flex items-start gap-2 text-sm">
                <input type="checkbox" name="event_types" value={type.name} className="mt-1" />
                <span>
                  <code>{type.name}</code>
                  <span className="text-muted-foreground block text-xs">{type.description}</span>
                </span>
              </label>
            ))}
          </div>
        )}
      </fieldset>
      <div>
        <Button type="submit" disabled={create.isPending}>
          Add endpoint
        </Button>
      </div>
    </form>
  );
}

function EndpointRow({ endpoint, onSecret }: { endpoint: Endpoint; onSecret: (secret: string) => void }) {
  const orgId = useOrgId();
  const queryClient = useQueryClient();
  const { open } = useModal();
  const [showLog, setShowLog] = useState(false);
  const path = { params: { path: { org_id: orgId, endpoint_id: endpoint.id } } };
  const refresh = () => queryClient.invalidateQueries({ queryKey: webhooksKey(orgId) });
  const sendTest = async () => {
    try {
      await unwrap(client.POST("/api/orgs/{org_id}/webhooks/{endpoint_id}/test", path));
      await queryClient.invalidateQueries({ queryKey: deliveriesKey(orgId, endpoint.id) });
      notify.good("Test event queued for delivery.");
    } catch (error) {
      reportError(error);
    }
  };
  const toggle = async () => {
    try {
      await unwrap(
        client.PATCH("/api/orgs/{org_id}/webhooks/{endpoint_id}", { ...path, body: { enabled: !endpoint.enabled } }),
      );
      await refresh();
      notify.good(endpoint.enabled ? "Endpoint disabled." : "Endpoint enabled.");
    } catch (error) {
      reportError(error);
    }
  };
  const rotate = () =>
    open({
      kind: "confirm",
      options: {
        title: "Rotate the signing secret?",
        description: "A new secret signs every delivery from now on; the old one keeps signing too for 24 hours.",
        confirmLabel: "Rotate secret",
        onConfirm: async () => {
          const rotated = await unwrap(client.POST("/api/orgs/{org_id}/webhooks/{endpoint_id}/rotate-secret", path));
          await refresh();
          onSecret(rotated.secret);
        },
      },
    });
  const remove = () =>
    open({
      kind: "confirm",
      options: {
        title: "Delete this endpoint?",
        description: `${endpoint.url} will receive no more events.`,
        confirmLabel: "Delete endpoint",
        destructive: true,
        onConfirm: async () => {
          await unwrap(client.DELETE("/api/orgs/{org_id}/webhooks/{endpoint_id}", path));
          await refresh();
          notify.good("Endpoint deleted.");
        },
      },
    });
  return (
    <li className="grid gap-2 py-3">
      <div className="grid gap-2 sm:grid-cols-[1fr_auto] sm:items-center">
        <div className="grid min-w-0 gap-1">
          <p className="flex flex-wrap items-center gap-2">
            <code className="truncate text-sm">{endpoint.url}</code>
            <Badge variant={endpoint.enabled ? "good" : "secondary"}>{endpoint.enabled ? "enabled" : "disabled"}</Badge>
            {endpoint.failing_since && <Badge variant="warn">failing</Badge>}
          </p>
          <p className="text-muted-foreground text-xs">{endpoint.event_types.join(", ")}</p>
          {!endpoint.enabled && endpoint.disabled_reason && (
            <p className="text-muted-foreground text-xs">Disabled: {endpoint.disabled_reason}</p>
          )}
        </div>
        <div className="flex flex-wrap gap-2">
          <Button variant="outline" size="sm" aria-expanded={showLog} onClick={() => setShowLog(!showLog)}>
            Deliveries
          </Button>
          <Button variant="outline" size="sm" onClick={sendTest}>
            Send test
          </Button>
          <Button variant="outline" size="sm" onClick={toggle}>
            {endpoint.enabled ? "Disable" : "Enable"}
          </Button>
          <Button variant="outline" size="sm" onClick={rotate}>
            Rotate secret
          </Button>
          <Button variant="outline" size="sm" onClick={remove}>
            Delete
          </Button>
        </div>
      </div>
      {showLog && <Deliveries endpointId={endpoint.id} />}
    </li>
  );
}

export function Webhooks() {
  const orgId = useOrgId();
  const [secret, setSecret] = useState<string | null>(null);
  const endpoints = useQuery({
    queryKey: webhooksKey(orgId),
    queryFn: () => unwrap(client.GET("/api/orgs/{org_id}/webhooks", { params: { path: { org_id: orgId } } })),
  });
  return (
    <Card>
      <CardHeader>
        <CardTitle>Webhooks</CardTitle>
        <CardDescription>
          Signed events (Standard Webhooks) sent to your endpoints; see the documentation to verify them.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-6">
        <CreateEndpoint onCreated={setSecret} />
        {secret && (
          <div role="alert" className="border-good/40 bg-good/10 grid gap-2 rounded-lg border p-4">
            <p className="font-medium">Signing secret: store it now, it will not be shown again.</p>
            <div className="bg-background flex items-center gap-2 rounded-md border px-3 py-1">
              <code className="flex-1 overflow-x-auto text-sm whitespace-nowrap">{secret}</code>
              <CopyButton text={secret} label="Copy signing secret" />
            </div>
          </div>
        )}
        {endpoints.isPending ? (
          <Loading label="Loading endpoints" />
        ) : endpoints.isError ? (
          <Failed message="Could not load endpoints." />
        ) : endpoints.data.length === 0 ? (
          <Empty title="No endpoints yet." />
        ) : (
          <ul className="divide-y">
            {endpoints.data.map((endpoint) => (
              <EndpointRow key={endpoint.id} endpoint={endpoint} onSecret={setSecret} />
            ))}
          </ul>
        )}
      </CardContent>
    </Card>
  );
}
