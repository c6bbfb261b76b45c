import { useQuery } from "@tanstack/react-query";

import { client, unwrap } from "@/api/client";
import { Empty, Failed, Loading } from "@/components/States";
import { Badge } from "@/components/ui/badge";
import { dateTime } from "@/lib/format";

import { useOrgId } from "../useOrg";
import { billingKey } from "./keys";

const TONE = { paid: "good", failed: "bad", expired: "secondary" } as const;

/** Card payments (top-ups and auto-refills), each with Stripe's receipt once it is paid. */
export function Payments() {
  const orgId = useOrgId();
  const payments = useQuery({
    queryKey: [...billingKey(orgId), "payments"],
    queryFn: () =>
      unwrap(
        client.GET("/api/orgs/{org_id}/billing/payments", {
          params: { path: { org_id: orgId }, query: { limit: 20 } },
        }),
      ),
  });
  if (payments.isPending) return <Loading label="Loading payments" />;
  if (payments.isError) return <Failed message="Could not load payments." />;
  if (payments.data.length === 0) return <Empty title="No card payments yet." />;
  return (
    <ul className="divide-y text-sm" aria-label="Card payments">
      {payments.data.map((payment) => (
        <li key={payment.id} className="grid gap-1 py-2 sm:grid-cols-[1fr_auto_auto] sm:items-center sm:gap-4">
          <span>
            {payment.kind === "topup" ? "Top-up" : "Auto-refill"} ${payment.amount_usd}{" "}
            <span className="text-muted-foreground">· {dateTime(payment.created_at)}</span>
            {payment.refunded_usd !== "0.00" && (
              <span className="text-muted-foreground"> · ${payment.refunded_usd} refunded</span>
            )}
            {payment.failure_message && (
              <span className="text-bad-strong block text-xs">{payment.failure_message}</span>
            )}
          </span>
          <Badge variant={TONE[payment.status as keyof typeof TONE] ?? "outline"}>{payment.status}</Badge>
          <span className="flex gap-3">
            {payment.status === "paid" && (
              <a
                className="underline underline-offset-4"
                href={`/api/orgs/${orgId}/billing/payments/${payment.id}/invoice.pdf`}
                download
              >
                Invoice (PDF)
              </a>
            )}
            {payment.receipt_url ? (
              <a className="underline underline-offset-4" href={payment.receipt_url} target="_blank" rel="noreferrer">
                Receipt
              </a>
            ) : (
              <span className="text-muted-foreground">no receipt</span>
            )}
          </span>
        </li>
      ))}
    </ul>
  );
}
