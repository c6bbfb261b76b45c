import { useQuery } from "@tanstack/react-query";

import { client, unwrap } from "./client";
import type { components } from "./schema";

type Schemas = components["schemas"];

export type CatalogEntry = Schemas["CatalogEntryOut"];
export type Category = Schemas["Category"];
export type Deployment = Schemas["DeploymentOut"];
export type DeploymentCreate = Schemas["DeploymentCreate"];
export type DeploymentState = Deployment["state"];

export const computeKeys = {
  catalog: ["compute", "catalog"] as const,
  categories: ["compute", "categories"] as const,
  deployments: (orgId: string) => ["orgs", orgId, "deployments"] as const,
  deployment: (orgId: string, id: string) => ["orgs", orgId, "deployments", id] as const,
};

/** States in which the worker is still moving the deployment: the console polls while in one. */
export const TRANSITIONAL: ReadonlySet<DeploymentState> = new Set(["pending", "starting", "stopping", "deleting"]);

/** How often a page showing a deployment asks again: fast while it moves, slower while it runs
(its cost and running time move too), not at all once it rests. */
export function pollInterval(states: DeploymentState[]): number | false {
  if (states.some((state) => TRANSITIONAL.has(state))) return 2_000;
  if (states.includes("ready")) return 10_000;
  return false;
}

/** The organisation's deployments, polled while any of them moves or runs; one cache entry
shared by every page and the header's runway check. */
export function deploymentsQuery(orgId: string) {
  return {
    queryKey: computeKeys.deployments(orgId),
    queryFn: () => unwrap(client.GET("/api/orgs/{org_id}/deployments", { params: { path: { org_id: orgId } } })),
    refetchInterval: (query: { state: { data?: Deployment[] } }) =>
      pollInterval((query.state.data ?? []).map((d) => d.state)),
  };
}

/** States in which a deployment is charged per second. */
export const CHARGED: ReadonlySet<DeploymentState> = new Set(["ready"]);

/** What the running deployments cost per hour, and how many whole minutes the balance pays
for at that rate; null when nothing is charged. */
export function runway(balanceNanos: number, deployments: Deployment[]): { perHour: number; minutes: number } | null {
  const perHour = deployments.filter((d) => CHARGED.has(d.state)).reduce((sum, d) => sum + d.price_nanos_per_hour, 0);
  if (perHour <= 0) return null;
  return { perHour, minutes: Math.max(0, Math.floor((balanceNanos * 60) / perHour)) };
}

export function useCatalog() {
  return useQuery({
    queryKey: computeKeys.catalog,
    queryFn: () => unwrap(client.GET("/api/compute/catalog")),
    staleTime: 60_000,
  });
}

export function useCategories() {
  return useQuery({
    queryKey: computeKeys.categories,
    queryFn: () => unwrap(client.GET("/api/compute/catalog/categories")),
    staleTime: Infinity,
  });
}

export const CATEGORY_LABELS: Record<Category, string> = {
  chat: "Chat",
  embeddings: "Embeddings",
  speech_to_text: "Speech to text",
  text_to_speech: "Text to speech",
  image: "Image",
};

/** "2× A100 80GB", or the host's CPU for an entry that needs no GPU. */
export function gpuLabel(item: { gpu_type: string; gpu_count: number }): string {
  return item.gpu_count > 0 ? `${item.gpu_count}× ${item.gpu_type}` : item.gpu_type;
}
