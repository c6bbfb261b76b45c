import { useMutation, useQuery } from "@tanstack/react-query";

import { client, reportError, unwrap } from "@/api/client";
import { Empty, Failed, Loading } from "@/components/States";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { dateTime } from "@/lib/format";
import { notify } from "@/lib/toast";

import { useOrgId } from "../useOrg";
import { billingKey } from "./keys";
import { useReturnFrom } from "./useReturn";

const cryptoKey = (orgId: string) => [...billingKey(orgId), "crypto"] as const;
const TONE: Record<string, "good" | "warn" | "bad" | "secondary"> = {
  confirmed: "good",
  resolved: "good",
  pending: "warn",
  new: "secondary",
  delayed: "warn",
  underpaid: "bad",
  expired: "secondary",
  failed: "bad",
};

/** Back from Coinbase Commerce: the charge is confirmed on chain later, so say so. */
function settleCrypto(outcome: string) {
  notify.plain(
    outcome === "paid"
      ? "Payment sent. Credit is added once the network confirms it."
      : "Crypto payment cancelled; nothing was charged.",
  );
}

/** Crypto top-ups through Coinbase Commerce, beside card payments. */
export function Crypto({ presets }: { presets: number[] }) {
  const orgId = useOrgId();
  useReturnFrom("crypto", settleCrypto);
  const charges = useQuery({
    queryKey: cryptoKey(orgId),
    queryFn: () => unwrap(client.GET("/api/orgs/{org_id}/billing/crypto", { params: { path: { org_id: orgId } } })),
  });
  const start = useMutation({
    mutationFn: (amount: number) =>
      unwrap(
        client.POST("/api/orgs/{org_id}/billing/crypto", {
          params: { path: { org_id: orgId } },
          body: { amount_usd: amount.toFixed(2) },
        }),
      ),
    onSuccess: (charge) => window.location.assign(charge.hosted_url),
    onError: reportError,
  });
  return (
    <Card>
      <CardHeader>
        <CardTitle>Pay with crypto</CardTitle>
        <CardDescription>
          Through Coinbase Commerce. Credit is added once the payment is confirmed on chain, never while it is pending.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        <div className="flex flex-wrap gap-2" role="group" aria-label="Add credit with crypto">
          {presets.map((amount) => (
            <Button key={amount} variant="outline" disabled={start.isPending} onClick={() => start.mutate(amount)}>
              Pay ${amount} in crypto
            </Button>
          ))}
        </div>
        {charges.isPending ? (
          <Loading label="Loading crypto payments" rows={1} />
        ) : charges.isError ? (
          <Failed message="Could not load crypto payments." />
        ) : charges.data.length === 0 ? (
          <Empty title="No crypto payments yet." />
        ) : (
          <ul className="divide-y text-sm" aria-label="Crypto payments">
            {charges.data.map((charge) => (
              <li key={charge.id} className="flex flex-wrap items-center gap-3 py-2">
                <span>${charge.amount_usd}</span>
                <Badge variant={TONE[charge.status] ?? "secondary"}>{charge.status}</Badge>
                <span className="text-muted-foreground">{dateTime(charge.created_at)}</span>
                <a className="underline underline-offset-4" href={charge.hosted_url} target="_blank" rel="noreferrer">
                  Charge {charge.code}
                </a>
              </li>
            ))}
          </ul>
        )}
      </CardContent>
    </Card>
  );
}
