import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";

import { client, reportError, unwrap } from "@/api/client";
import type { components } from "@/api/schema";
import { Field } from "@/components/Field";
import { SelectField } from "@/components/SelectField";
import { Empty, Failed, Loading } from "@/components/States";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { dateTime } from "@/lib/format";
import { notify } from "@/lib/toast";

const INCIDENTS = ["admin", "incidents"] as const;
const OPEN_STATUSES = ["investigating", "identified", "monitoring"] as const;

type Incident = components["schemas"]["IncidentOut"];
type OpenStatus = (typeof OPEN_STATUSES)[number];

function NewIncident() {
  const queryClient = useQueryClient();
  const create = useMutation({
    mutationFn: (body: { title: string; message: string }) =>
      unwrap(client.POST("/api/admin/incidents", { body: { ...body, severity: "medium", status: "investigating" } })),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: INCIDENTS });
      notify.good("Incident opened; it is on the status page.");
    },
    onError: reportError,
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    create.mutate({ title: String(form.get("title")), message: String(form.get("message")) });
    event.currentTarget.reset();
  };
  return (
    <form
      onSubmit={submit}
      aria-label="Open an incident"
      className="grid gap-4 sm:grid-cols-[1fr_2fr_auto] sm:items-end"
    >
      <Field label="Title" name="title" required maxLength={200} />
      <Field label="First update" name="message" required maxLength={5000} />
      <Button type="submit" disabled={create.isPending}>
        Open incident
      </Button>
    </form>
  );
}

/** Post an update (moving the status on) or resolve, both shown on the status page. */
function PostUpdate({ incident }: { incident: Incident }) {
  const queryClient = useQueryClient();
  const path = { params: { path: { incident_id: incident.id } } };
  const post = useMutation({
    mutationFn: ({ status, message }: { status: OpenStatus | "resolved"; message: string }) =>
      status === "resolved"
        ? unwrap(client.POST("/api/admin/incidents/{incident_id}/resolve", { ...path, body: { message } }))
        : unwrap(client.POST("/api/admin/incidents/{incident_id}/updates", { ...path, body: { status, message } })),
    onSuccess: async (updated) => {
      await queryClient.invalidateQueries({ queryKey: INCIDENTS });
      notify.good(updated.status === "resolved" ? "Incident resolved." : "Update posted.");
    },
    onError: reportError,
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    post.mutate({
      status: String(form.get("status")) as OpenStatus | "resolved",
      message: String(form.get("message")),
    });
  };
  return (
    <form
      onSubmit={submit}
      aria-label={`Update “${incident.title}”`}
      className="grid gap-2 sm:grid-cols-[auto_1fr_auto] sm:items-end"
    >
      <SelectField
        label="Status"
        name="status"
        defaultValue={incident.status}
        options={[...OPEN_STATUSES, "resolved"]}
      />
      <Field label="Update" name="message" required maxLength={5000} />
      <Button type="submit" variant="outline" disabled={post.isPending}>
        Post update
      </Button>
    </form>
  );
}

function IncidentRow({ incident }: { incident: Incident }) {
  const [editing, setEditing] = useState(false);
  const resolved = incident.status === "resolved";
  return (
    <li className="grid gap-3 py-3">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <span className="font-medium">{incident.title}</span>
        <span className="flex items-center gap-2 text-sm">
          <Badge variant={resolved ? "good" : "warn"}>{incident.status}</Badge>
          <Badge variant="outline">{incident.severity}</Badge>
          {dateTime(incident.created_at)}
          {!resolved && (
            <Button variant="ghost" size="sm" aria-expanded={editing} onClick={() => setEditing(!editing)}>
              {editing ? "Close" : "Update"}
            </Button>
          )}
        </span>
      </div>
      {editing && !resolved && <PostUpdate incident={incident} />}
    </li>
  );
}

export function Incidents() {
  const incidents = useQuery({ queryKey: INCIDENTS, queryFn: () => unwrap(client.GET("/api/admin/incidents")) });
  return (
    <Card>
      <CardHeader>
        <CardTitle>Incidents</CardTitle>
        <CardDescription>What customers see on the status page.</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-6">
        <NewIncident />
        {incidents.isPending ? (
          <Loading label="Loading incidents" />
        ) : incidents.isError ? (
          <Failed message="Could not load incidents." />
        ) : incidents.data.length === 0 ? (
          <Empty title="No incidents." />
        ) : (
          <ul className="divide-y">
            {incidents.data.map((incident) => (
              <IncidentRow key={incident.id} incident={incident} />
            ))}
          </ul>
        )}
      </CardContent>
    </Card>
  );
}
