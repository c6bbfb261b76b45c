import { useMutation, useQueryClient } from "@tanstack/react-query";
import { AlertTriangle } from "lucide-react";
import { useId, useState, type FormEvent, type ReactNode } from "react";
import { useNavigate } from "react-router-dom";

import { client, reportError, unwrap } from "@/api/client";
import { podKeys, useGpus, usePodEstimate, type Cloud, type Gpu, type PodCreate, type PodSpec } from "@/api/pods";
import { Field } from "@/components/Field";
import { describedBy, FieldMessages } from "@/components/FieldMessages";
import { SelectField, selectClass } from "@/components/SelectField";
import { Failed, Loading } from "@/components/States";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Label } from "@/components/ui/label";
import { usd } from "@/lib/format";
import { useTitle } from "@/lib/title";
import { notify } from "@/lib/toast";
import { cn } from "@/lib/utils";

import { useCanManage } from "../deployments/actions";
import { useOrg } from "../useOrg";
import {
  DEFAULT_PORTS,
  EXAMPLE_IMAGE,
  GPU_COUNTS,
  fieldErrorOf,
  parseEnv,
  toCreate,
  toEstimateSpec,
  type FieldErrors,
  type GpuCount,
  type PodField,
  type PodForm as FormValues,
} from "./spec";
import { useDebounced } from "./useDebounced";

const ESTIMATE_DELAY_MS = 400;
const STORAGE_SIZES = [0, 10, 20, 50, 100, 250, 500, 1000, 2000];
const CLOUDS: { value: Cloud; label: string; price: (gpu: Gpu) => string }[] = [
  { value: "COMMUNITY", label: "Community Cloud", price: (gpu) => gpu.community_per_hour },
  { value: "SECURE", label: "Secure Cloud", price: (gpu) => gpu.secure_per_hour },
];

/** The id of a field's control, so a refusal can bring the focus to it. */
const controlId = (form: string, field: PodField) => `${form}-${field}`;

/** A group of radios drawn as buttons: arrow keys move between them as in any radio group. */
function Choices<T extends string | number>({
  legend,
  name,
  value,
  options,
  onChange,
  error,
  id,
}: {
  legend: string;
  name: string;
  value: T;
  options: { value: T; label: ReactNode }[];
  onChange: (value: T) => void;
  error?: string;
  id: string;
}) {
  return (
    <fieldset className="grid gap-2" aria-describedby={describedBy(id, undefined, error)} id={id}>
      <legend className="mb-2 text-sm font-medium">{legend}</legend>
      <div className="flex flex-wrap gap-2">
        {options.map((option) => (
          <label key={option.value} className="relative">
            <input
              type="radio"
              name={name}
              value={option.value}
              checked={option.value === value}
              onChange={() => onChange(option.value)}
              className="peer absolute inset-0 cursor-pointer opacity-0"
            />
            <span
              className={cn(
                "border-input flex h-9 cursor-pointer items-center gap-2 rounded-md border px-3 text-sm",
                "peer-checked:border-primary peer-checked:bg-primary peer-checked:text-primary-foreground",
                "peer-focus-visible:ring-ring/50 peer-focus-visible:ring-[3px]",
              )}
            >
              {option.label}
            </span>
          </label>
        ))}
      </div>
      <FieldMessages id={id} error={error} />
    </fieldset>
  );
}

function Estimate({ estimate, marked }: { estimate: ReturnType<typeof usePodEstimate>; marked: boolean }) {
  const price = estimate.data;
  let text: string;
  if (marked) text = "Correct the marked field to see the price.";
  else if (estimate.isError) text = "The price could not be worked out; try again.";
  else if (!price) text = "Working out the price…";
  else text = `Estimated cost: ${usd(price.nanos_per_hour)}/hr (${usd(price.nanos_per_day)}/day)`;
  return (
    <div className="bg-muted grid gap-1 rounded-lg p-4 text-sm" aria-busy={estimate.isFetching}>
      <output aria-live="polite" className="text-base font-semibold" data-testid="pod-estimate">
        {text}
      </output>
      {price && !marked && !estimate.isError && (
        <p className="text-muted-foreground text-xs">
          GPUs ${price.gpu_per_hour}/hr + storage ${price.storage_per_hour}/hr. {price.billing}
        </p>
      )}
    </div>
  );
}

/** `first` is the GPU chosen when none offers pods, and the one to fall back on. */
function PodFormBody({ gpus, first }: { gpus: Gpu[]; first: Gpu }) {
  const formId = useId();
  const orgId = useOrg().id;
  const canManage = useCanManage();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [form, setForm] = useState<FormValues>({
    name: "",
    gpuType: (gpus.find((gpu) => gpu.pods_available) ?? first).gpu_type,
    gpuCount: 1,
    image: "",
    cloud: "COMMUNITY",
    storageGb: 50,
    ports: DEFAULT_PORTS,
    env: "",
  });
  const create = useMutation({
    mutationFn: (body: PodCreate) =>
      unwrap(client.POST("/api/orgs/{org_id}/pods", { params: { path: { org_id: orgId } }, body })),
    onSuccess: async (pod) => {
      await queryClient.invalidateQueries({ queryKey: podKeys.pods(orgId) });
      notify.good(`Creating ${pod.name}.`, "It is billed per second from the moment it runs.");
      navigate("/dashboard/pods");
    },
    onError: (error) => {
      const fields = fieldErrorOf(error);
      if (!fields) return reportError(error);
      // A refusal names one field: the focus goes there, where its message is read out.
      const [field] = Object.keys(fields) as PodField[];
      if (field) document.getElementById(controlId(formId, field))?.focus();
    },
  });
  const gpu = gpus.find((g) => g.gpu_type === form.gpuType) ?? first;
  const parsedEnv = parseEnv(form.env);
  const envError = "error" in parsedEnv ? parsedEnv.error : undefined;
  const env = "env" in parsedEnv ? parsedEnv.env : {};
  // The spec as text, so the debounce sees a change of content rather than a new object.
  const specKey = useDebounced(envError ? null : JSON.stringify(toEstimateSpec(form, env)), ESTIMATE_DELAY_MS);
  const spec = specKey === null ? null : (JSON.parse(specKey) as PodSpec);
  const estimate = usePodEstimate(spec);
  const errors: FieldErrors = {
    ...(fieldErrorOf(estimate.error) ?? {}),
    ...(fieldErrorOf(create.error) ?? {}),
    ...(envError ? { env: envError } : {}),
  };
  const update = (change: Partial<FormValues>) => {
    create.reset();
    setForm((current) => ({ ...current, ...change }));
  };
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (envError) {
      document.getElementById(controlId(formId, "env"))?.focus();
      return;
    }
    create.mutate(toCreate(form, env));
  };
  const blocked = !gpu.pods_available
    ? "Custom pods need a container provider (RunPod), and this platform has none configured: you can price a pod here, but not create one."
    : !canManage
      ? "Your role can see pods but not create them."
      : null;
  const storagePrice = estimate.data && !estimate.isError ? ` (+$${estimate.data.storage_per_hour}/hr)` : "";
  return (
    <Card>
      <CardHeader>
        <CardTitle>
          <h2>Deploy a custom pod</h2>
        </CardTitle>
        <CardDescription>Your own container on GPUs, with SSH, Jupyter and a persistent volume.</CardDescription>
      </CardHeader>
      <CardContent>
        {!gpu.pods_available && (
          <div
            role="note"
            className="border-warn/50 mb-6 flex items-start gap-2 rounded-lg border p-4 text-sm"
            data-testid="pods-unavailable"
          >
            <AlertTriangle aria-hidden className="mt-0.5 size-4 shrink-0" />
            <p>
              Pods are not available on this platform: it has no container provider (RunPod) configured. The estimate
              below is what the pod would cost where they are.
            </p>
          </div>
        )}
        <form onSubmit={submit} aria-label="Deploy a custom pod" className="grid max-w-2xl gap-6" noValidate>
          <SelectField
            id={controlId(formId, "gpu_type")}
            label="GPU type"
            value={form.gpuType}
            onChange={(event) => update({ gpuType: event.target.value })}
            options={gpus.map((g) => ({ value: g.gpu_type, label: `${g.gpu_type} (${g.memory_gb} GB)` }))}
            error={errors.gpu_type}
          />
          <Choices<GpuCount>
            id={controlId(formId, "gpu_count")}
            legend="GPU count"
            name="gpu_count"
            value={form.gpuCount}
            options={GPU_COUNTS.map((n) => ({ value: n, label: n }))}
            onChange={(gpuCount) => update({ gpuCount })}
            error={errors.gpu_count}
          />
          <Field
            id={controlId(formId, "image")}
            label="Docker image"
            value={form.image}
            onChange={(event) => update({ image: event.target.value })}
            placeholder={EXAMPLE_IMAGE}
            hint={`A registry path with an optional tag, e.g. ${EXAMPLE_IMAGE}`}
            error={errors.image}
            autoComplete="off"
            spellCheck={false}
          />
          <Choices<Cloud>
            id={controlId(formId, "cloud_type")}
            legend="Cloud type"
            name="cloud_type"
            value={form.cloud}
            options={CLOUDS.map((cloud) => ({
              value: cloud.value,
              label: (
                <>
                  {cloud.label} <span data-testid="cloud-price">${cloud.price(gpu)}/hr per GPU</span>
                </>
              ),
            }))}
            onChange={(cloud) => update({ cloud })}
            error={errors.cloud_type}
          />
          <SelectField
            id={controlId(formId, "storage_gb")}
            label={`Storage${storagePrice}`}
            value={String(form.storageGb)}
            onChange={(event) => update({ storageGb: Number(event.target.value) })}
            options={STORAGE_SIZES.map((gb) => ({ value: String(gb), label: gb ? `${gb} GB` : "None" }))}
            hint="A volume at /workspace, kept (and billed) while the pod is stopped."
            error={errors.storage_gb}
          />
          <Field
            id={controlId(formId, "ports")}
            label="Ports"
            value={form.ports}
            onChange={(event) => update({ ports: event.target.value })}
            hint="port/http or port/tcp, separated by commas: 8888/http opens Jupyter, 22/tcp SSH."
            error={errors.ports}
            autoComplete="off"
            spellCheck={false}
          />
          <div className="grid gap-2">
            <Label htmlFor={controlId(formId, "env")}>Environment variables</Label>
            <textarea
              id={controlId(formId, "env")}
              value={form.env}
              onChange={(event) => update({ env: event.target.value })}
              rows={3}
              spellCheck={false}
              placeholder="JUPYTER_PASSWORD=choose-one"
              aria-describedby={describedBy(controlId(formId, "env"), "hint", errors.env)}
              aria-invalid={errors.env ? true : undefined}
              className={cn(selectClass, "h-auto py-2 font-mono")}
            />
            <FieldMessages
              id={controlId(formId, "env")}
              hint="One NAME=value per line. Values stay on the server; the console shows only the names."
              error={errors.env}
            />
          </div>
          <Field
            id={controlId(formId, "name")}
            label="Name (optional)"
            value={form.name}
            onChange={(event) => update({ name: event.target.value })}
            hint="Letters, digits, '.', '_' and '-'; the pod's id when empty."
            error={errors.name}
            autoComplete="off"
          />
          <Estimate estimate={estimate} marked={spec === null || fieldErrorOf(estimate.error) !== null} />
          <div className="grid gap-2">
            <div>
              <Button
                type="submit"
                disabled={blocked !== null || create.isPending}
                aria-describedby={blocked ? `${formId}-blocked` : undefined}
              >
                Deploy pod
              </Button>
            </div>
            {blocked && (
              <p id={`${formId}-blocked`} className="text-muted-foreground text-sm" data-testid="deploy-blocked">
                {blocked}
              </p>
            )}
          </div>
        </form>
      </CardContent>
    </Card>
  );
}

export function PodForm() {
  useTitle("New pod · Pods");
  const gpus = useGpus();
  if (gpus.isPending) return <Loading label="Loading GPU types" />;
  const first = gpus.data?.[0];
  if (!gpus.data || !first) return <Failed message="Could not load the GPU types." />;
  return <PodFormBody gpus={gpus.data} first={first} />;
}
