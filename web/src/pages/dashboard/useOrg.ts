import { currentOrganization, useOrganizations } from "@/api/hooks";
import type { Organization } from "@/api/types";

/** The organisation the dashboard acts in; the dashboard renders only once it is known. */
export function useOrg(): Organization {
  const { data } = useOrganizations();
  const org = currentOrganization(data);
  if (!org) throw new Error("the dashboard needs an organisation");
  return org;
}

export function useOrgId(): string {
  return useOrg().id;
}
