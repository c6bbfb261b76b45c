import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";

import { client, reportError, unwrap } from "@/api/client";
import { Field } from "@/components/Field";
import { Failed, Loading } from "@/components/States";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { usd } from "@/lib/format";
import { notify } from "@/lib/toast";

import { useModal } from "@/components/modals/ModalContext";

import { AutoRefillForm } from "./billing/AutoRefill";
import { Crypto } from "./billing/Crypto";
import { billingKey } from "./billing/keys";
import { Payments } from "./billing/Payments";
import { Plan } from "./billing/Plan";
import { useReturnFrom } from "./billing/useReturn";
import { Statements } from "./billing/Statements";
import { ThisMonth } from "./billing/ThisMonth";
import { Transactions } from "./billing/Transactions";
import { useOrgId } from "./useOrg";

/** Back from Stripe Checkout: ask the server to settle the session, then say how it went. */
async function settleCheckout(outcome: string, sessionId: string | null, orgId: string) {
  if (outcome !== "success" || !sessionId) {
    notify.plain("Checkout cancelled; nothing was charged.");
    return;
  }
  await unwrap(
    client.GET("/api/orgs/{org_id}/billing/checkout/{session_id}", {
      params: { path: { org_id: orgId, session_id: sessionId } },
    }),
  );
  notify.good("Payment received; your balance is updated.");
}

function TopUp({
  presets,
  configured,
  min,
  max,
}: {
  presets: number[];
  configured: boolean;
  min: number;
  max: number;
}) {
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
  const { open } = useModal();
  const [custom, setCustom] = useState("");
  if (!configured) {
    return (
      <div className="grid gap-2 text-sm">
        <p>
          Credit cannot be bought with a card on this server. The operator adds it for you: send a message with the
          amount you need.
        </p>
        <div>
          <Button variant="outline" onClick={() => open({ kind: "contact" })}>
            Ask for credit
          </Button>
        </div>
      </div>
    );
  }
  const payCustom = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    checkout.mutate(Number(custom));
  };
  return (
    <div className="grid gap-2">
      <div className="flex flex-wrap items-end gap-2" role="group" aria-label="Add credit">
        {presets.map((amount) => (
          <Button key={amount} variant="outline" disabled={checkout.isPending} onClick={() => checkout.mutate(amount)}>
            Add ${amount}
          </Button>
        ))}
        <form onSubmit={payCustom} className="flex items-end gap-2" aria-label="Custom amount">
          <Field
            label={`Other amount (USD, ${min} to ${max})`}
            name="amount"
            type="number"
            min={min}
            max={max}
            step="0.01"
            required
            value={custom}
            onChange={(event) => setCustom(event.target.value)}
          />
          <Button type="submit" variant="outline" disabled={checkout.isPending}>
            Add
          </Button>
        </form>
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

export function Billing() {
  const orgId = useOrgId();
  useReturnFrom("checkout", settleCheckout);
  const overview = useQuery({
    queryKey: billingKey(orgId),
    queryFn: () => unwrap(client.GET("/api/orgs/{org_id}/billing", { params: { path: { org_id: orgId } } })),
  });
  return (
    <div className="grid gap-4">
      <Card>
        <CardHeader>
          <CardTitle>Current balance</CardTitle>
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
              <TopUp
                presets={overview.data.topup_presets_usd}
                configured={overview.data.payments_configured}
                min={Number(overview.data.topup_min_usd)}
                max={Number(overview.data.topup_max_usd)}
              />
              <LowBalanceAlert threshold={overview.data.low_balance_threshold_usd} />
            </>
          )}
        </CardContent>
      </Card>
      <ThisMonth />
      <Plan />
      {overview.data?.crypto_configured && <Crypto presets={overview.data.topup_presets_usd} />}
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
      <Statements />
      <Transactions />
    </div>
  );
}
