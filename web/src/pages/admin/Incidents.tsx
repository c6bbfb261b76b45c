import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { FormEvent } from "react";

import { client, reportError, unwrap } from "@/api/client";
import { Field } from "@/components/Field";
import { Empty, Failed, Loading } from "@/components/States";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { dateTime } from "@/lib/format";
import { notify } from "@/lib/toast";

const INCIDENTS = ["admin", "incidents"] as const;

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
              <li key={incident.id} className="flex flex-wrap items-center justify-between gap-2 py-3">
                <span className="font-medium">{incident.title}</span>
                <span className="flex items-center gap-2 text-sm">
                  <Badge variant={incident.status === "resolved" ? "good" : "warn"}>{incident.status}</Badge>
                  {dateTime(incident.created_at)}
                </span>
              </li>
            ))}
          </ul>
        )}
      </CardContent>
    </Card>
  );
}
