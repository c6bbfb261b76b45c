import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { useSearchParams } from "react-router-dom";

import { client, reportError, unwrap } from "@/api/client";
import { Field } from "@/components/Field";
import { Empty, Failed, Loading } from "@/components/States";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { dateTime, usd } from "@/lib/format";
import { notify } from "@/lib/toast";

import { AutoRefillForm } from "./billing/AutoRefill";
import { billingKey } from "./billing/keys";
import { Payments } from "./billing/Payments";
import { useOrgId } from "./useOrg";

/** Back from Stripe Checkout: ask the server to settle the session, then say how it went. */
function useCheckoutReturn(orgId: string) {
  const [params, setParams] = useSearchParams();
  const queryClient = useQueryClient();
  const handled = useRef(false);
  const outcome = params.get("checkout");
  const sessionId = params.get("session_id");
  useEffect(() => {
    if (!outcome || handled.current) return;
    handled.current = true;
    setParams({}, { replace: true });
    if (outcome !== "success" || !sessionId) {
      notify.plain("Checkout cancelled; nothing was charged.");
      return;
    }
    unwrap(
      client.GET("/api/orgs/{org_id}/billing/checkout/{session_id}", {
        params: { path: { org_id: orgId, session_id: sessionId } },
      }),
    )
      .then(() => notify.good("Payment received; your balance is updated."))
      .catch(reportError)
      .finally(() => queryClient.invalidateQueries({ queryKey: billingKey(orgId) }));
  }, [outcome, sessionId, orgId, setParams, queryClient]);
}

function TopUp({ presets, configured }: { presets: number[]; configured: boolean }) {
  const orgId = useOrgId();
  const [saveCard, setSaveCard] = useState(false);
  const checkout = useMutation({
    mutationFn: (amount: number) =>
      unwrap(
        client.POST("/api/orgs/{org_id}/billing/checkout", {
          params: { path: { org_id: orgId } },
          body: { amount_usd: amount.toFixed(2), save_card: saveCard },
        }),
      ),
    onSuccess: (created) => window.location.assign(created.url),
    onError: reportError,
  });
  if (!configured) {
    return <p className="text-muted-foreground text-sm">Card payments are not configured on this server.</p>;
  }
  return (
    <div className="grid gap-2">
      <div className="flex flex-wrap gap-2" role="group" aria-label="Add credit">
        {presets.map((amount) => (
          <Button key={amount} variant="outline" disabled={checkout.isPending} onClick={() => checkout.mutate(amount)}>
            Add ${amount}
          </Button>
        ))}
      </div>
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" checked={saveCard} onChange={(event) => setSaveCard(event.target.checked)} />
        Save this card for auto-refill (you agree to automatic charges when auto-refill is on)
      </label>
    </div>
  );
}

function LowBalanceAlert({ threshold }: { threshold: string }) {
  const orgId = useOrgId();
  const queryClient = useQueryClient();
  const save = useMutation({
    mutationFn: (threshold_usd: string) =>
      unwrap(
        client.PUT("/api/orgs/{org_id}/billing/low-balance", {
          params: { path: { org_id: orgId } },
          body: { threshold_usd },
        }),
      ),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: billingKey(orgId) });
      notify.good("Low-balance alert saved.");
    },
    onError: reportError,
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const value = Number(new FormData(event.currentTarget).get("threshold"));
    save.mutate(value.toFixed(2));
  };
  return (
    <form onSubmit={submit} aria-label="Low-balance alert" className="flex flex-wrap items-end gap-2">
      <Field
        label="Email the owners when the balance falls below (USD)"
        name="threshold"
        type="number"
        min={0}
        step="0.01"
        defaultValue={Number(threshold).toFixed(2)}
        required
      />
      <Button type="submit" variant="outline" disabled={save.isPending}>
        Save
      </Button>
    </form>
  );
}

function Transactions() {
  const orgId = useOrgId();
  const page = useQuery({
    queryKey: [...billingKey(orgId), "transactions"],
    queryFn: () =>
      unwrap(
        client.GET("/api/orgs/{org_id}/billing/transactions", {
          params: { path: { org_id: orgId }, query: { limit: 20 } },
        }),
      ),
  });
  if (page.isPending) return <Loading label="Loading transactions" />;
  if (page.isError) return <Failed message="Could not load transactions." />;
  if (page.data.data.length === 0) return <Empty title="No transactions yet." />;
  return (
    <ul className="divide-y text-sm" aria-label="Transactions">
      {page.data.data.map((line) => (
        <li key={line.id} className="grid gap-1 py-2 sm:grid-cols-[1fr_auto_auto] sm:gap-4">
          <span>
            {line.description} <span className="text-muted-foreground">· {dateTime(line.at)}</span>
          </span>
          <span className={line.amount_nanos < 0 ? "" : "text-good"}>{usd(line.amount_nanos)}</span>
          <span className="text-muted-foreground">balance {usd(line.balance_nanos)}</span>
        </li>
      ))}
    </ul>
  );
}

export function Billing() {
  const orgId = useOrgId();
  useCheckoutReturn(orgId);
  const overview = useQuery({
    queryKey: billingKey(orgId),
    queryFn: () => unwrap(client.GET("/api/orgs/{org_id}/billing", { params: { path: { org_id: orgId } } })),
  });
  return (
    <div className="grid gap-4">
      <Card>
        <CardHeader>
          <CardTitle>Balance</CardTitle>
          <CardDescription>Prepaid credit; requests are refused when it runs out.</CardDescription>
        </CardHeader>
        <CardContent className="grid gap-4">
          {overview.isPending ? (
            <Loading label="Loading balance" rows={1} />
          ) : overview.isError ? (
            <Failed message="Could not load your balance." />
          ) : (
            <>
              <p className="flex flex-wrap items-center gap-3 text-3xl font-semibold">
                {usd(overview.data.balance_nanos)}
                {overview.data.balance_state !== "ok" && (
                  <Badge variant={overview.data.balance_state === "depleted" ? "bad" : "warn"}>
                    {overview.data.balance_state}
                  </Badge>
                )}
              </p>
              {overview.data.open_holds_nanos > 0 && (
                <p className="text-muted-foreground text-sm">
                  {usd(overview.data.open_holds_nanos)} held for requests in flight.
                </p>
              )}
              <TopUp presets={overview.data.topup_presets_usd} configured={overview.data.payments_configured} />
              <LowBalanceAlert threshold={overview.data.low_balance_threshold_usd} />
            </>
          )}
        </CardContent>
      </Card>
      {overview.data?.payments_configured && (
        <Card>
          <CardHeader>
            <CardTitle>Auto-refill</CardTitle>
            <CardDescription>Keep requests flowing: charge the saved card when the balance runs low.</CardDescription>
          </CardHeader>
          <CardContent>
            <AutoRefillForm overview={overview.data} />
          </CardContent>
        </Card>
      )}
      <Card>
        <CardHeader>
          <CardTitle>Card payments</CardTitle>
          <CardDescription>Top-ups and auto-refills, with Stripe receipts.</CardDescription>
        </CardHeader>
        <CardContent>
          <Payments />
        </CardContent>
      </Card>
      <Card>
        <CardHeader>
          <CardTitle>Transactions</CardTitle>
          <CardDescription>
            <a className="underline underline-offset-4" href={`/api/orgs/${orgId}/billing/transactions.csv`} download>
              Download all as CSV
            </a>
          </CardDescription>
        </CardHeader>
        <CardContent>
          <Transactions />
        </CardContent>
      </Card>
    </div>
  );
}
