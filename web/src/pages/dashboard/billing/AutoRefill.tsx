import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, type FormEvent } from "react";

import { client, reportError, unwrap } from "@/api/client";
import type { components } from "@/api/schema";
import { Field } from "@/components/Field";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { dollarsToNanos, usd } from "@/lib/format";
import { notify } from "@/lib/toast";

import { useOrgId } from "../useOrg";
import { billingKey } from "./keys";

type Overview = components["schemas"]["BillingOverview"];
type AutoRefillUpdate = components["schemas"]["AutoRefillUpdate"];

function dollars(nanos: number): string {
  return (nanos / 1e9).toFixed(2);
}

/** Charges the saved card when the balance runs low. The card is saved by ticking "save this
card" on a top-up; without one, auto-refill cannot be switched on and the form says why. */
export function AutoRefillForm({ overview }: { overview: Overview }) {
  const orgId = useOrgId();
  const queryClient = useQueryClient();
  const noticeId = useId();
  const refill = overview.auto_refill;
  const save = useMutation({
    mutationFn: (body: AutoRefillUpdate) =>
      unwrap(
        client.PUT("/api/orgs/{org_id}/billing/auto-refill", {
          params: { path: { org_id: orgId } },
          body,
        }),
      ),
    onSuccess: (updated) => {
      queryClient.setQueryData(billingKey(orgId), updated);
      notify.good(updated.auto_refill.enabled ? "Auto-refill is on." : "Auto-refill is off.");
    },
    onError: reportError,
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const cap = String(form.get("cap") ?? "").trim();
    save.mutate({
      enabled: form.get("enabled") === "on",
      threshold_usd: Number(form.get("threshold")).toFixed(2),
      amount_usd: Number(form.get("amount")).toFixed(2),
      monthly_cap_usd: cap === "" ? null : Number(cap).toFixed(2),
    });
  };
  const card = overview.card;
  return (
    <form onSubmit={submit} aria-label="Auto-refill" className="grid gap-4" aria-describedby={noticeId}>
      <div id={noticeId} className="grid gap-2 text-sm">
        {card ? (
          <p>
            Saved card: <span className="font-medium">{card.label}</span>
          </p>
        ) : (
          <p className="text-muted-foreground">
            No saved card. To use auto-refill, add credit with “Save this card for auto-refill” ticked; the card is then
            charged automatically, off-session, when the balance falls below the threshold.
          </p>
        )}
        {!refill.enabled && refill.disabled_reason && (
          <p role="alert" className="border-warn/50 bg-warn/10 rounded-md border p-3">
            Auto-refill was switched off: {refill.disabled_reason}
          </p>
        )}
        {refill.in_flight && <Badge variant="secondary">refill in progress</Badge>}
        <p className="text-muted-foreground">
          Refilled this month: {usd(dollarsToNanos(refill.refilled_this_month_usd))}
        </p>
      </div>
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" name="enabled" defaultChecked={refill.enabled} disabled={!card && !refill.enabled} />
        Refill automatically
      </label>
      <div className="grid gap-4 sm:grid-cols-3">
        <Field
          label="When the balance falls below (USD)"
          name="threshold"
          type="number"
          min={0}
          step="0.01"
          defaultValue={dollars(refill.threshold_nanos)}
          required
        />
        <Field
          label="Add (USD)"
          name="amount"
          type="number"
          min={overview.topup_min_usd}
          max={overview.topup_max_usd}
          step="0.01"
          defaultValue={dollars(refill.amount_nanos || overview.topup_min_usd * 1e9)}
          required
        />
        <Field
          label="Monthly cap (USD, optional)"
          name="cap"
          type="number"
          min={0}
          step="0.01"
          defaultValue={refill.monthly_cap_nanos === null ? "" : dollars(refill.monthly_cap_nanos)}
        />
      </div>
      <div>
        <Button type="submit" variant="outline" disabled={save.isPending}>
          Save auto-refill
        </Button>
      </div>
    </form>
  );
}
