import { keepPreviousData, useQuery } from "@tanstack/react-query";

import { client, unwrap } from "./client";
import type { components } from "./schema";

type Schemas = components["schemas"];

export type Gpu = Schemas["GpuOut"];
export type Pod = Schemas["PodOut"];
export type PodConnection = Schemas["PodConnection"];
export type PodSpec = Schemas["PodSpec"];
export type PodCreate = Schemas["PodCreate"];
export type PodState = Pod["state"];
export type Cloud = Schemas["Cloud"];

export const podKeys = {
  gpus: ["compute", "gpus"] as const,
  estimate: (spec: PodSpec) => ["compute", "pod-estimate", spec] as const,
  pods: (orgId: string) => ["orgs", orgId, "pods"] as const,
};

/** States in which the worker is still moving the pod: the list polls while one is in one. */
const TRANSITIONAL: ReadonlySet<PodState> = new Set(["pending", "starting", "stopping", "terminating"]);

/** Fast while a pod moves, slower while one runs (its cost moves too), not at all at rest. */
export function podPollInterval(states: PodState[]): number | false {
  if (states.some((state) => TRANSITIONAL.has(state))) return 2_000;
  if (states.includes("running")) return 10_000;
  return false;
}

export function useGpus() {
  return useQuery({
    queryKey: podKeys.gpus,
    queryFn: () => unwrap(client.GET("/api/compute/gpus")),
    staleTime: 60_000,
  });
}

export function usePods(orgId: string) {
  return useQuery({
    queryKey: podKeys.pods(orgId),
    queryFn: () => unwrap(client.GET("/api/orgs/{org_id}/pods", { params: { path: { org_id: orgId } } })),
    refetchInterval: (query) => podPollInterval((query.state.data ?? []).map((pod) => pod.state)),
  });
}

/** The server's price for a spec; the last one stays on screen while the next is asked. */
export function usePodEstimate(spec: PodSpec | null) {
  return useQuery({
    queryKey: podKeys.estimate(spec ?? ({} as PodSpec)),
    queryFn: () => unwrap(client.POST("/api/compute/pods/estimate", { body: spec as PodSpec })),
    enabled: spec !== null,
    placeholderData: keepPreviousData,
    retry: false,
    staleTime: Infinity,
  });
}
