import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";

import { client, reportError, unwrap } from "@/api/client";
import { Field } from "@/components/Field";
import { Empty, Failed, Loading } from "@/components/States";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { usd } from "@/lib/format";
import { notify } from "@/lib/toast";

const ORGS = ["admin", "orgs"] as const;

interface Org {
  id: string;
  name: string;
}

function GrantCredit({ orgs }: { orgs: Org[] }) {
  const queryClient = useQueryClient();
  const orgField = useId();
  // One key per grant: a retried or double-clicked submission credits once.
  const [idempotencyKey, setIdempotencyKey] = useState(() => crypto.randomUUID());
  const grant = useMutation({
    mutationFn: ({ orgId, amount, reason }: { orgId: string; amount: string; reason: string }) =>
      unwrap(
        client.POST("/api/admin/orgs/{org_id}/credit-grants", {
          params: { path: { org_id: orgId }, header: { "Idempotency-Key": idempotencyKey } },
          body: { amount_usd: amount, reason },
        }),
      ),
    onSuccess: async (result) => {
      setIdempotencyKey(crypto.randomUUID());
      await queryClient.invalidateQueries({ queryKey: ORGS });
      notify.good(`Granted ${usd(result.amount_nanos)}; balance ${usd(result.balance_nanos)}.`);
    },
    onError: reportError,
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    grant.mutate({
      orgId: String(form.get("org")),
      amount: String(form.get("amount")),
      reason: String(form.get("reason")),
    });
  };
  return (
    <form
      onSubmit={submit}
      aria-label="Grant credit"
      className="grid gap-4 sm:grid-cols-[2fr_1fr_2fr_auto] sm:items-end"
    >
      <div className="grid gap-2">
        <Label htmlFor={orgField}>Organisation</Label>
        <select
          id={orgField}
          name="org"
          required
          className="border-input dark:bg-input/30 focus-visible:ring-ring/50 h-9 rounded-md border bg-transparent px-3 text-sm outline-none focus-visible:ring-[3px]"
        >
          {orgs.map((org) => (
            <option key={org.id} value={org.id}>
              {org.name}
            </option>
          ))}
        </select>
      </div>
      <Field label="Amount (USD)" name="amount" type="number" step="0.01" required />
      <Field label="Reason" name="reason" required maxLength={500} />
      <Button type="submit" disabled={grant.isPending || orgs.length === 0}>
        Grant
      </Button>
    </form>
  );
}

export function Organisations() {
  const [search, setSearch] = useState("");
  const orgs = useQuery({
    queryKey: [...ORGS, search],
    queryFn: () =>
      unwrap(client.GET("/api/admin/orgs", { params: { query: { query: search || undefined, limit: 50 } } })),
  });
  return (
    <Card>
      <CardHeader>
        <CardTitle>Organisations</CardTitle>
        <CardDescription>Balances, and credit granted by hand (recorded in the ledger).</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-6">
        {orgs.data && <GrantCredit orgs={orgs.data.data} />}
        <div className="grid gap-2">
          <Label htmlFor="org-search">Search</Label>
          <Input id="org-search" type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
        </div>
        {orgs.isPending ? (
          <Loading label="Loading organisations" />
        ) : orgs.isError ? (
          <Failed message="Could not load organisations." />
        ) : orgs.data.data.length === 0 ? (
          <Empty title="No organisations match." />
        ) : (
          <ul className="divide-y">
            {orgs.data.data.map((org) => (
              <li key={org.id} className="flex flex-wrap items-center justify-between gap-2 py-2 text-sm">
                <span className="font-medium">{org.name}</span>
                <span className="flex items-center gap-2">
                  {!org.is_active && <Badge variant="bad">suspended</Badge>}
                  {usd(org.balance_nanos)}
                </span>
              </li>
            ))}
          </ul>
        )}
      </CardContent>
    </Card>
  );
}
