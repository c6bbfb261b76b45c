import { useQuery } from "@tanstack/react-query";

import { client, unwrap } from "./client";
import type { Me, Organization } from "./types";

/** Roles that see the balance and the money screens. */
export const BILLING_ROLES: ReadonlySet<string> = new Set(["owner", "admin", "billing"]);

export const queryKeys = {
  config: ["config"] as const,
  models: ["models"] as const,
  me: ["me"] as const,
  orgs: ["orgs"] as const,
  status: ["status"] as const,
  keys: (orgId: string) => ["orgs", orgId, "keys"] as const,
};

export function useConfig() {
  return useQuery({
    queryKey: queryKeys.config,
    queryFn: () => unwrap(client.GET("/api/config")),
    staleTime: Infinity,
  });
}

export function useModels() {
  return useQuery({
    queryKey: queryKeys.models,
    queryFn: async () => (await unwrap(client.GET("/api/models"))).data,
    staleTime: 60_000,
  });
}

/** The signed-in person, or null when signed out. */
export function useMe() {
  return useQuery({
    queryKey: queryKeys.me,
    queryFn: async (): Promise<Me | null> => (await unwrap(client.GET("/api/auth/session"))).me ?? null,
    staleTime: 30_000,
  });
}

/** The caller's organisations; the console acts in the default one (the last switched to). */
export function useOrganizations(enabled = true) {
  return useQuery({
    queryKey: queryKeys.orgs,
    queryFn: () => unwrap(client.GET("/api/orgs")),
    enabled,
  });
}

export function currentOrganization(orgs: Organization[] | undefined): Organization | undefined {
  return orgs?.find((o) => o.default) ?? orgs?.[0];
}

/** The base URL clients should call, with no trailing slash. */
export function useBaseUrl(): string {
  const { data } = useConfig();
  return (data?.base_url ?? window.location.origin).replace(/\/+$/, "");
}
