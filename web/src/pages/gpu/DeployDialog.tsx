import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router-dom";

import { client, reportError, unwrap } from "@/api/client";
import { computeKeys, type CatalogEntry, type DeploymentCreate, gpuLabel } from "@/api/compute";
import { Field } from "@/components/Field";
import { SelectField } from "@/components/SelectField";
import { Button } from "@/components/ui/button";
import {
  Dialog,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
} from "@/components/ui/dialog";
import { usd } from "@/lib/format";
import { notify } from "@/lib/toast";

// The same rule the server applies to a deployment's name (its `model` on /v1).
const NAME_PATTERN = "[a-z0-9][a-z0-9._\\-]{0,62}";
const MINUTE_NANOS_DIVISOR = 60;

const DEFAULT_IDLE_TIMEOUT = 300;
// The server's limit on max_replicas (DeploymentCreate).
const MAX_REPLICAS = 10;
const IDLE_TIMEOUTS = [
  { value: "300", label: "5 minutes" },
  { value: "900", label: "15 minutes" },
  { value: "3600", label: "1 hour" },
];

/** What running the entry costs, as the person confirms: per hour, per day and the minimum. */
export function CostSummary({ entry }: { entry: CatalogEntry }) {
  const perHour = entry.price_nanos_per_hour;
  return (
    <dl className="bg-muted grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 rounded-lg p-4 text-sm" data-testid="deploy-cost">
      <dt className="text-muted-foreground">Per hour</dt>
      <dd className="font-semibold">{usd(perHour)}</dd>
      <dt className="text-muted-foreground">Per day (24 h)</dt>
      <dd>{usd(perHour * 24)}</dd>
      <dt className="text-muted-foreground">Minimum per start</dt>
      <dd>{usd(Math.floor(perHour / MINUTE_NANOS_DIVISOR))} (1 minute)</dd>
      <dd className="text-muted-foreground col-span-2 text-xs">
        Billed per second while it is ready, minimum 1 minute per start. Stop it to stop paying.
      </dd>
    </dl>
  );
}

/** Deploys a catalog entry in the caller's organisation: a name, the mode and how far scale-out
may go (each replica is billed like the first); a serverless deployment scales to zero on
every provider. */
export function DeployDialog({ entry, orgId, onClose }: { entry: CatalogEntry; orgId: string; onClose: () => void }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [mode, setMode] = useState<DeploymentCreate["mode"]>("always_on");
  const [maxReplicas, setMaxReplicas] = useState(1);
  const deploy = useMutation({
    mutationFn: (body: DeploymentCreate) =>
      unwrap(client.POST("/api/orgs/{org_id}/deployments", { params: { path: { org_id: orgId } }, body })),
    onSuccess: async (created) => {
      await queryClient.invalidateQueries({ queryKey: computeKeys.deployments(orgId) });
      notify.good(`Deploying ${created.name}.`, "It is billed from the moment it is ready.");
      onClose();
      navigate(`/dashboard/deployments/${created.id}`);
    },
    onError: reportError,
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const name = String(form.get("name") ?? "").trim();
    deploy.mutate({
      catalog_slug: entry.slug,
      name: name || null,
      mode,
      // The gateway sees every request, so any provider's deployment can scale to zero.
      min_replicas: mode === "serverless" ? 0 : 1,
      max_replicas: maxReplicas,
      // Only a serverless deployment scales down when idle; the server's default otherwise.
      idle_timeout_seconds: mode === "serverless" ? Number(form.get("idle_timeout")) : DEFAULT_IDLE_TIMEOUT,
    });
  };
  return (
    <Dialog open onOpenChange={(open) => !open && onClose()}>
      <DialogContent>
        <DialogHeader>
          <DialogTitle>Deploy {entry.name}</DialogTitle>
          <DialogDescription>
            {gpuLabel(entry)}
            {entry.storage_gb > 0 && `, ${entry.storage_gb} GB storage included`}.
          </DialogDescription>
        </DialogHeader>
        <form onSubmit={submit} aria-label={`Deploy ${entry.name}`} className="grid gap-4">
          <Field
            label="Name"
            name="name"
            defaultValue={entry.slug}
            pattern={NAME_PATTERN}
            maxLength={63}
            hint="The model name your clients send. Lower case letters, digits, '.', '_' and '-'."
            autoFocus
          />
          <SelectField
            label="Mode"
            name="mode"
            value={mode}
            onChange={(event) => setMode(event.target.value as DeploymentCreate["mode"])}
            options={[
              { value: "always_on", label: "Always on" },
              { value: "serverless", label: "Serverless" },
            ]}
          />
          {mode === "serverless" && (
            <SelectField label="Idle timeout" name="idle_timeout" defaultValue="300" options={IDLE_TIMEOUTS} />
          )}
          <Field
            label="Maximum replicas"
            name="max_replicas"
            type="number"
            inputMode="numeric"
            min={1}
            max={MAX_REPLICAS}
            required
            value={maxReplicas}
            onChange={(event) => setMaxReplicas(Math.min(MAX_REPLICAS, Math.max(1, Number(event.target.value) || 1)))}
            hint={`1 to ${MAX_REPLICAS}. Scale-out adds replicas under load, each at ${usd(entry.price_nanos_per_hour)}/hr while it runs.`}
          />
          <p className="text-muted-foreground text-sm" data-testid="deploy-replicas">
            {mode === "serverless"
              ? `Replicas: none while idle, up to ${maxReplicas} in use. It scales to zero after the idle timeout and the next request wakes it (the first answer waits for the start).`
              : `Replicas: one always, up to ${maxReplicas} under load.`}{" "}
            {maxReplicas > 1 &&
              `At most ${usd(entry.price_nanos_per_hour * maxReplicas)}/hr with all ${maxReplicas} running.`}
          </p>
          <CostSummary entry={entry} />
          <DialogFooter>
            <Button type="button" variant="outline" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" disabled={deploy.isPending}>
              Deploy for {usd(entry.price_nanos_per_hour)}/hr
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}
