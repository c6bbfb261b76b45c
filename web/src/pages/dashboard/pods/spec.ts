import { ApiError } from "@/api/client";
import type { Cloud, PodCreate, PodSpec } from "@/api/pods";

export const GPU_COUNTS = [1, 2, 4, 8] as const;
export type GpuCount = (typeof GPU_COUNTS)[number];
export const EXAMPLE_IMAGE = "pytorch/pytorch:2.1.0-cuda12.1-cudnn8-runtime";
export const DEFAULT_PORTS = "8888/http, 22/tcp";

/** What the form holds, as typed. */
export interface PodForm {
  name: string;
  gpuType: string;
  gpuCount: GpuCount;
  image: string;
  cloud: Cloud;
  storageGb: number;
  ports: string;
  env: string;
}

/** The spec's fields, as the server names them in a 422's `param`. */
export type PodField = keyof PodCreate;
export type FieldErrors = Partial<Record<PodField, string>>;

/** "8888/http, 22/tcp" as the list the server takes; commas or spaces separate. */
export function parsePorts(text: string): string[] {
  return text.split(/[\s,]+/).filter(Boolean);
}

/** NAME=value lines as the environment; a line without "=" is refused here, since the
server would never see it as a name of its own. */
export function parseEnv(text: string): { env: Record<string, string> } | { error: string } {
  const env: Record<string, string> = {};
  const lines = text.split("\n");
  for (const [index, line] of lines.entries()) {
    if (!line.trim()) continue;
    const split = line.indexOf("=");
    if (split < 1) return { error: `Line ${index + 1} is not NAME=value.` };
    env[line.slice(0, split).trim()] = line.slice(split + 1);
  }
  return { env };
}

/** The spec the server prices and creates. */
export function toSpec(form: PodForm, env: Record<string, string>): PodSpec {
  return {
    image: form.image.trim(),
    gpu_type: form.gpuType,
    gpu_count: form.gpuCount,
    cloud_type: form.cloud,
    storage_gb: form.storageGb,
    ports: parsePorts(form.ports),
    env,
  };
}

/** The spec to price: the image does not change the price, so the example stands in for it
until one is typed. */
export function toEstimateSpec(form: PodForm, env: Record<string, string>): PodSpec {
  const spec = toSpec(form, env);
  return spec.image ? spec : { ...spec, image: EXAMPLE_IMAGE };
}

export function toCreate(form: PodForm, env: Record<string, string>): PodCreate {
  const name = form.name.trim();
  return { ...toSpec(form, env), name: name || null };
}

const FIELDS: ReadonlySet<string> = new Set<PodField>([
  "name",
  "image",
  "gpu_type",
  "gpu_count",
  "cloud_type",
  "storage_gb",
  "ports",
  "env",
]);

/** A refusal naming a field of the spec ("ports.1", "env.MY VAR") as that field's message;
null for anything else, which the page reports as a whole. */
export function fieldErrorOf(error: unknown): FieldErrors | null {
  if (!(error instanceof ApiError) || !error.param) return null;
  const [field = ""] = error.param.split(".");
  if (!FIELDS.has(field)) return null;
  const prefix = `${error.param}: `;
  const message = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
  return { [field as PodField]: message };
}
