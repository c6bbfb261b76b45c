import { useQuery } from "@tanstack/react-query";
import { Plus } from "lucide-react";
import { Link } from "react-router-dom";

import { client, unwrap } from "@/api/client";
import { BILLING_ROLES } from "@/api/hooks";
import type { Organization } from "@/api/types";
import { Button } from "@/components/ui/button";
import { usd } from "@/lib/format";

import { billingKey } from "./billing/keys";

/** The balance and the way to add to it, beside the dashboard's title. */
export function BalanceBar({ org }: { org: Organization }) {
  const visible = BILLING_ROLES.has(org.role);
  const billing = useQuery({
    queryKey: billingKey(org.id),
    queryFn: () => unwrap(client.GET("/api/orgs/{org_id}/billing", { params: { path: { org_id: org.id } } })),
    enabled: visible,
  });
  if (!visible || !billing.data) return null;
  return (
    <div className="flex items-center gap-3">
      <p className="text-sm">
        <span className="text-muted-foreground">Balance</span>{" "}
        <span className="font-semibold tabular-nums" data-testid="dashboard-balance">
          {usd(billing.data.balance_nanos)}
        </span>
      </p>
      <Button asChild size="sm">
        <Link to="/dashboard/billing">
          <Plus aria-hidden /> Add funds
        </Link>
      </Button>
    </div>
  );
}
