import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { client, reportError, unwrap } from "@/api/client";
import type { components } from "@/api/schema";
import { Failed, Loading } from "@/components/States";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { dateTime } from "@/lib/format";
import { notify } from "@/lib/toast";

import { useOrgId } from "../useOrg";
import { billingKey } from "./keys";
import { useReturnFrom } from "./useReturn";

type Overview = components["schemas"]["SubscriptionOverview"];
type Subscription = NonNullable<Overview["subscription"]>;

const planKey = (orgId: string) => [...billingKey(orgId), "subscription"] as const;
const LIVE = new Set(["active", "trialing", "past_due"]);

/** Back from Stripe Checkout in subscription mode: settle it now, then say how it went. */
async function settleSubscription(outcome: string, sessionId: string | null, orgId: string) {
  if (outcome !== "success" || !sessionId) {
    notify.plain("Subscription cancelled; nothing was charged.");
    return;
  }
  await unwrap(
    client.GET("/api/orgs/{org_id}/billing/subscription/checkout/{session_id}", {
      params: { path: { org_id: orgId, session_id: sessionId } },
    }),
  );
  notify.good("You are subscribed; the plan's credit is on your balance.");
}

function Current({ subscription }: { subscription: Subscription }) {
  const orgId = useOrgId();
  const queryClient = useQueryClient();
  const change = useMutation({
    mutationFn: (action: "cancel" | "resume") => {
      const params = { params: { path: { org_id: orgId } } };
      return unwrap(
        action === "cancel"
          ? client.POST("/api/orgs/{org_id}/billing/subscription/cancel", params)
          : client.POST("/api/orgs/{org_id}/billing/subscription/resume", params),
      );
    },
    onSuccess: async (updated) => {
      await queryClient.invalidateQueries({ queryKey: planKey(orgId) });
      notify.good(updated.cancel_at_period_end ? "The plan ends at the end of this period." : "The plan renews again.");
    },
    onError: reportError,
  });
  const ending = subscription.cancel_at_period_end;
  return (
    <div className="grid gap-2 text-sm" aria-label="Current plan">
      <p className="flex flex-wrap items-center gap-2 text-lg font-medium">
        {subscription.plan_name}
        <Badge variant={subscription.status === "active" ? "good" : "warn"}>
          {subscription.status.replace("_", " ")}
        </Badge>
      </p>
      {subscription.status === "past_due" ? (
        <p>
          The last renewal failed; Stripe is retrying the card. The plan keeps its benefits until{" "}
          {subscription.grace_ends_at ? dateTime(subscription.grace_ends_at) : "the retries end"}.
        </p>
      ) : (
        <p>
          {ending ? "Ends on " : "Renews on "}
          <time dateTime={subscription.current_period_end}>{dateTime(subscription.current_period_end)}</time>.
        </p>
      )}
      <div>
        {ending ? (
          <Button variant="outline" disabled={change.isPending} onClick={() => change.mutate("resume")}>
            Keep the plan
          </Button>
        ) : (
          <Button variant="outline" disabled={change.isPending} onClick={() => change.mutate("cancel")}>
            Cancel at period end
          </Button>
        )}
      </div>
    </div>
  );
}

/** Monthly plans beside prepaid credit: the current one with its renewal date, or the offer. */
export function Plan() {
  const orgId = useOrgId();
  useReturnFrom("plan", settleSubscription);
  const overview = useQuery({
    queryKey: planKey(orgId),
    queryFn: () =>
      unwrap(client.GET("/api/orgs/{org_id}/billing/subscription", { params: { path: { org_id: orgId } } })),
  });
  const subscribe = useMutation({
    mutationFn: (plan: string) =>
      unwrap(
        client.POST("/api/orgs/{org_id}/billing/subscription/checkout", {
          params: { path: { org_id: orgId } },
          body: { plan },
        }),
      ),
    onSuccess: (created) => window.location.assign(created.url),
    onError: reportError,
  });
  if (overview.isPending) return <Loading label="Loading plans" rows={1} />;
  if (overview.isError) return <Failed message="Could not load plans." />;
  const { available, plans, subscription } = overview.data;
  if (!available && !subscription) return null;
  const live = subscription && LIVE.has(subscription.status) ? subscription : null;
  return (
    <Card>
      <CardHeader>
        <CardTitle>Plan</CardTitle>
        <CardDescription>Monthly plans include credit every month and raise your key limits.</CardDescription>
      </CardHeader>
      <CardContent>
        {live ? (
          <Current subscription={live} />
        ) : (
          <ul className="grid gap-3 sm:grid-cols-2" aria-label="Plans">
            {plans.map((plan) => (
              <li key={plan.id} className="grid gap-1 rounded-md border p-3 text-sm">
                <span className="text-base font-medium">{plan.name}</span>
                <span>
                  ${plan.price_usd} a month, ${Number(plan.included_credit_usd).toFixed(2)} of credit included
                </span>
                {plan.rpm_limit && (
                  <span className="text-muted-foreground">
                    Keys up to {plan.rpm_limit.toLocaleString()} requests/min
                  </span>
                )}
                <Button
                  className="mt-1 justify-self-start"
                  disabled={subscribe.isPending}
                  onClick={() => subscribe.mutate(plan.id)}
                >
                  Subscribe to {plan.name}
                </Button>
              </li>
            ))}
          </ul>
        )}
      </CardContent>
    </Card>
  );
}
