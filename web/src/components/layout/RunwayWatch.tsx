import { useQuery } from "@tanstack/react-query";
import { useEffect, useRef } from "react";

import { client, unwrap } from "@/api/client";
import { deploymentsQuery, runway } from "@/api/compute";
import { BILLING_ROLES, currentOrganization, useOrganizations } from "@/api/hooks";
import { usd } from "@/lib/format";
import { notify } from "@/lib/toast";

const HOUR_MINUTES = 60;

/** Warns once when the balance pays for less than an hour of the deployments that run, and
again only after it has recovered and fallen short anew. */
export function RunwayWatch() {
  const orgs = useOrganizations();
  const org = currentOrganization(orgs.data);
  const orgId = org?.id ?? "";
  const visible = org !== undefined && BILLING_ROLES.has(org.role);
  const deployments = useQuery({ ...deploymentsQuery(orgId), enabled: visible });
  const charged = (deployments.data ?? []).some((d) => d.state === "ready");
  const billing = useQuery({
    queryKey: ["orgs", orgId, "billing"],
    queryFn: () => unwrap(client.GET("/api/orgs/{org_id}/billing", { params: { path: { org_id: orgId } } })),
    enabled: visible,
    // The balance falls by the second while something runs.
    refetchInterval: charged ? 30_000 : false,
  });
  const left = billing.data && deployments.data ? runway(billing.data.balance_nanos, deployments.data) : null;
  const short = left !== null && left.minutes < HOUR_MINUTES;
  const warned = useRef(false);
  useEffect(() => {
    if (!short || !left || !billing.data) {
      warned.current = false;
      return;
    }
    if (warned.current) return;
    warned.current = true;
    notify.warn(
      "Your balance covers less than an hour of what is running.",
      `${usd(billing.data.balance_nanos)} at ${usd(left.perHour)}/hr lasts about ${left.minutes} min. Add funds or stop a deployment; at zero they stop.`,
    );
  }, [short, left, billing.data]);
  return null;
}
