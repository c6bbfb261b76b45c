import { useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";

import { client, unwrap } from "@/api/client";
import { BILLING_ROLES } from "@/api/hooks";
import { Failed, Loading } from "@/components/States";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { ago } from "@/lib/format";

import { billingKey } from "../billing/keys";
import { useOrg } from "../useOrg";
import { recentActivity } from "./activity";

const AUDIT_ROLES = new Set(["owner", "admin"]);
const SHOWN = 6;

/** "2 min ago" moves on by itself. */
function useNow(everyMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

/** Deployments started and stopped, pods terminated and money added, newest first: what a member may read. */
export function RecentActivity() {
  const org = useOrg();
  const readsAudit = AUDIT_ROLES.has(org.role);
  const readsBilling = BILLING_ROLES.has(org.role);
  const now = useNow(30_000);
  const audit = useQuery({
    queryKey: ["orgs", org.id, "audit", "recent"],
    queryFn: () =>
      unwrap(
        client.GET("/api/orgs/{org_id}/audit-log", { params: { path: { org_id: org.id }, query: { limit: 50 } } }),
      ),
    enabled: readsAudit,
  });
  const ledger = useQuery({
    queryKey: [...billingKey(org.id), "transactions", "recent"],
    queryFn: () =>
      unwrap(
        client.GET("/api/orgs/{org_id}/billing/transactions", {
          params: { path: { org_id: org.id }, query: { limit: 20 } },
        }),
      ),
    enabled: readsBilling,
  });
  if (!readsAudit && !readsBilling) return null;
  const pending = (readsAudit && audit.isPending) || (readsBilling && ledger.isPending);
  const failed = audit.isError || ledger.isError;
  const items = recentActivity(audit.data?.data ?? [], ledger.data?.data ?? [], SHOWN);
  return (
    <Card>
      <CardHeader>
        <CardTitle>Recent activity</CardTitle>
        <CardDescription>
          Deployments started and stopped, pods terminated, and money added to the balance.
        </CardDescription>
      </CardHeader>
      <CardContent>
        {pending ? (
          <Loading label="Loading recent activity" rows={2} />
        ) : failed ? (
          <Failed message="Could not load the recent activity." />
        ) : items.length === 0 ? (
          <p className="text-muted-foreground text-sm">Nothing yet.</p>
        ) : (
          <ul className="grid gap-2 text-sm" aria-label="Recent activity">
            {items.map((item) => (
              <li key={item.id} className="grid grid-cols-[7rem_1fr] gap-2">
                <time dateTime={item.at} className="text-muted-foreground" title={new Date(item.at).toLocaleString()}>
                  {ago(item.at, now)}
                </time>
                <span>{item.text}</span>
              </li>
            ))}
          </ul>
        )}
      </CardContent>
    </Card>
  );
}
