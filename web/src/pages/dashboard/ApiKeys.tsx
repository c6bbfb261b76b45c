import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { KeyRound, Plus } from "lucide-react";
import { useState, type FormEvent } from "react";

import { client, reportError, unwrap } from "@/api/client";
import { queryKeys, useModels } from "@/api/hooks";
import type { ApiKey, ApiKeyCreated, KeyCreate } from "@/api/types";
import { CopyButton } from "@/components/CodeTabs";
import { Field } from "@/components/Field";
import { useModal } from "@/components/modals/ModalContext";
import { Empty, Failed, Loading } from "@/components/States";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { dateTime, dollarsToNanos, usd } from "@/lib/format";
import { notify } from "@/lib/toast";

import { DeploymentKeys } from "./keys/DeploymentKeys";
import { useOrgId } from "./useOrg";

type Limits = Pick<KeyCreate, "rpm_limit" | "tpm_limit" | "monthly_spend_cap_nanos" | "allowed_models" | "expires_at">;

function optionalInt(value: FormDataEntryValue | null): number | null {
  const text = String(value ?? "").trim();
  return text === "" ? null : Number.parseInt(text, 10);
}

/** Empty fields are null: the organisation's default (or no cap, every model, no expiry). */
function readLimits(form: FormData): Limits {
  const cap = String(form.get("cap") ?? "").trim();
  const models = form.getAll("models").map(String);
  const expires = String(form.get("expires") ?? "").trim();
  return {
    rpm_limit: optionalInt(form.get("rpm")),
    tpm_limit: optionalInt(form.get("tpm")),
    monthly_spend_cap_nanos: cap === "" ? null : dollarsToNanos(cap),
    allowed_models: models.length ? models : null,
    // The key stops working at the end of the chosen day (UTC).
    expires_at: expires === "" ? null : `${expires}T23:59:59Z`,
  };
}

/** Which models the key may call; none ticked means every model. */
function ModelChoice({ current }: { current?: ApiKey }) {
  const { data: models } = useModels();
  const allowed = new Set(current?.allowed_models ?? []);
  return (
    <fieldset className="grid gap-2 sm:col-span-2">
      <legend className="text-sm font-medium">Models (none ticked: every model)</legend>
      <div className="flex flex-wrap gap-x-4 gap-y-1">
        {(models ?? []).map((model) => (
          <label key={model.id} className="flex items-center gap-2 text-sm">
            <input type="checkbox" name="models" value={model.id} defaultChecked={allowed.has(model.id)} />
            <code>{model.id}</code>
          </label>
        ))}
      </div>
    </fieldset>
  );
}

function LimitFields({ current }: { current?: ApiKey }) {
  const cap = current?.monthly_spend_cap_nanos;
  return (
    <>
      <Field
        label="Expires (end of day, UTC)"
        name="expires"
        type="date"
        min={new Date().toISOString().slice(0, 10)}
        defaultValue={current?.expires_at?.slice(0, 10)}
      />
      <Field
        label="Requests / minute"
        name="rpm"
        type="number"
        min={0}
        placeholder="default"
        defaultValue={current?.rpm_limit ?? undefined}
      />
      <Field
        label="Tokens / minute"
        name="tpm"
        type="number"
        min={0}
        placeholder="default"
        defaultValue={current?.tpm_limit ?? undefined}
      />
      <Field
        label="Monthly cap (USD)"
        name="cap"
        type="number"
        min={0}
        step="0.01"
        placeholder="none"
        defaultValue={cap === null || cap === undefined ? undefined : cap / 1e9}
      />
      <ModelChoice current={current} />
    </>
  );
}

function CreateKeyForm({ onCreated }: { onCreated: (key: ApiKeyCreated) => void }) {
  const orgId = useOrgId();
  const queryClient = useQueryClient();
  const create = useMutation({
    mutationFn: (body: KeyCreate) =>
      unwrap(client.POST("/api/orgs/{org_id}/keys", { params: { path: { org_id: orgId } }, body })),
    onSuccess: async (key) => {
      await queryClient.invalidateQueries({ queryKey: queryKeys.keys(orgId) });
      onCreated(key);
    },
    onError: reportError,
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const mode = form.has("test_mode") ? "test" : "live";
    create.mutate({ name: String(form.get("name")), mode, ...readLimits(form) });
    event.currentTarget.reset();
  };
  return (
    <form
      onSubmit={submit}
      className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3 lg:items-end"
      aria-label="Create API key"
    >
      <Field label="Name" name="name" required maxLength={200} placeholder="production" />
      <LimitFields />
      <label className="flex items-center gap-2 text-sm" title="Free, never charged, with tight rate limits: for CI">
        <input type="checkbox" name="test_mode" /> Test mode
      </label>
      <Button type="submit" disabled={create.isPending}>
        <Plus aria-hidden /> Create key
      </Button>
    </form>
  );
}

function NewSecret({ secret, onDone }: { secret: string; onDone: () => void }) {
  return (
    <div role="alert" className="border-good/40 bg-good/10 grid gap-3 rounded-lg border p-4">
      <p className="font-medium">Copy your new key now. It will not be shown again.</p>
      <div className="bg-background flex items-center gap-2 rounded-md border px-3 py-1">
        <code data-testid="new-key-secret" className="flex-1 overflow-x-auto text-sm whitespace-nowrap">
          {secret}
        </code>
        <CopyButton text={secret} label="Copy API key" />
      </div>
      <div>
        <Button variant="outline" size="sm" onClick={onDone}>
          I have stored it
        </Button>
      </div>
    </div>
  );
}

function limits(key: ApiKey): string {
  const parts = [
    key.rpm_limit === null ? null : `${key.rpm_limit} RPM`,
    key.tpm_limit === null ? null : `${key.tpm_limit} TPM`,
    key.monthly_spend_cap_nanos === null ? null : `${usd(key.monthly_spend_cap_nanos)}/mo`,
    key.allowed_models === null ? null : `only ${key.allowed_models.join(", ")}`,
  ].filter(Boolean);
  return parts.length ? parts.join(" · ") : "Organisation defaults";
}

function EditLimits({ apiKey, onDone }: { apiKey: ApiKey; onDone: () => void }) {
  const orgId = useOrgId();
  const queryClient = useQueryClient();
  const save = useMutation({
    mutationFn: (body: Limits & { name: string }) =>
      unwrap(
        client.PATCH("/api/orgs/{org_id}/keys/{key_id}", {
          params: { path: { org_id: orgId, key_id: apiKey.id } },
          body,
        }),
      ),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: queryKeys.keys(orgId) });
      notify.good(`Settings of “${apiKey.name}” saved.`);
      onDone();
    },
    onError: reportError,
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    save.mutate({ name: String(form.get("name")), ...readLimits(form) });
  };
  return (
    <form
      onSubmit={submit}
      aria-label={`Settings of ${apiKey.name}`}
      className="grid gap-4 sm:col-span-2 sm:grid-cols-2 lg:grid-cols-3 lg:items-end"
    >
      <Field label="Name" name="name" required maxLength={200} defaultValue={apiKey.name} />
      <LimitFields current={apiKey} />
      <Button type="submit" disabled={save.isPending}>
        Save
      </Button>
      <Button type="button" variant="ghost" onClick={onDone}>
        Cancel
      </Button>
    </form>
  );
}

function KeyRow({ apiKey }: { apiKey: ApiKey }) {
  const orgId = useOrgId();
  const queryClient = useQueryClient();
  const { open } = useModal();
  const [editing, setEditing] = useState(false);
  const revoke = () =>
    open({
      kind: "confirm",
      options: {
        title: `Revoke “${apiKey.name}”?`,
        description: "Applications using this key stop working within seconds. This cannot be undone.",
        confirmLabel: "Revoke key",
        destructive: true,
        onConfirm: async () => {
          await unwrap(
            client.POST("/api/orgs/{org_id}/keys/{key_id}/revoke", {
              params: { path: { org_id: orgId, key_id: apiKey.id } },
            }),
          );
          await queryClient.invalidateQueries({ queryKey: queryKeys.keys(orgId) });
          notify.good(`Key “${apiKey.name}” revoked.`);
        },
      },
    });
  return (
    <li className="grid gap-2 py-3 sm:grid-cols-[1fr_auto] sm:items-center" data-testid="key-row">
      <div className="grid gap-1">
        <p className="flex flex-wrap items-center gap-2 font-medium">
          {apiKey.name}
          <code className="text-muted-foreground text-xs">{apiKey.prefix}…</code>
          <Badge variant={apiKey.status === "active" ? "good" : "secondary"}>{apiKey.status}</Badge>
          {apiKey.mode === "test" && <Badge variant="warn">test mode</Badge>}
        </p>
        <p className="text-muted-foreground text-xs">
          {limits(apiKey)} · spent {usd(apiKey.month_to_date_spend_nanos)} this month · last used{" "}
          {dateTime(apiKey.last_used_at)}
        </p>
        <p className="text-muted-foreground text-xs">
          created {dateTime(apiKey.created_at)}
          {apiKey.created_by_email && ` by ${apiKey.created_by_email}`}
          {apiKey.expires_at &&
            ` · ${apiKey.status === "expired" ? "expired" : "expires"} ${dateTime(apiKey.expires_at)}`}
        </p>
      </div>
      {apiKey.status === "active" && (
        <div className="flex gap-2">
          <Button variant="outline" size="sm" onClick={() => setEditing((on) => !on)} aria-expanded={editing}>
            Edit
          </Button>
          <Button variant="outline" size="sm" onClick={revoke}>
            Revoke
          </Button>
        </div>
      )}
      {editing && <EditLimits apiKey={apiKey} onDone={() => setEditing(false)} />}
    </li>
  );
}

export function ApiKeys() {
  const orgId = useOrgId();
  const [created, setCreated] = useState<ApiKeyCreated | null>(null);
  const keys = useQuery({
    queryKey: queryKeys.keys(orgId),
    queryFn: () => unwrap(client.GET("/api/orgs/{org_id}/keys", { params: { path: { org_id: orgId } } })),
  });
  return (
    <div className="grid gap-4">
      <Card>
        <CardHeader>
          <CardTitle>Account API keys</CardTitle>
          <CardDescription>
            Keys authenticate calls to /v1 (they start with gpt_live_). Limits left empty use the organisation's
            defaults.
          </CardDescription>
        </CardHeader>
        <CardContent className="grid gap-6">
          <CreateKeyForm onCreated={setCreated} />
          {created && <NewSecret secret={created.secret} onDone={() => setCreated(null)} />}
          {keys.isPending ? (
            <Loading label="Loading keys" />
          ) : keys.isError ? (
            <Failed message="Could not load your keys." />
          ) : keys.data.length === 0 ? (
            <Empty title="No API keys yet">
              <KeyRound aria-hidden className="size-4" />
              <p>Create one above to start calling the API.</p>
            </Empty>
          ) : (
            <ul className="divide-y">
              {keys.data.map((key) => (
                <KeyRow key={key.id} apiKey={key} />
              ))}
            </ul>
          )}
        </CardContent>
      </Card>
      <DeploymentKeys />
    </div>
  );
}
