import { useQuery } from "@tanstack/react-query";
import { CheckCircle2, Circle } from "lucide-react";
import { Link } from "react-router-dom";

import { client, unwrap } from "@/api/client";
import { queryKeys, useBaseUrl, useConfig, useMe } from "@/api/hooks";
import { CodeTabs } from "@/components/CodeTabs";
import { Skeleton } from "@/components/ui/skeleton";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { chatExample } from "@/lib/examples";
import { count, usd } from "@/lib/format";

import { billingKey } from "./billing/keys";
import { hours, useMonthSpend } from "./billing/monthSpend";
import { useDeployments } from "./Deployments";
import { ACTIVE, ActiveDeployments } from "./overview/ActiveDeployments";
import { QuickDeploy } from "./overview/QuickDeploy";
import { RecentActivity } from "./overview/RecentActivity";
import { useOrg } from "./useOrg";
import { useUsageSummary } from "./usePeriod";
import { webhooksKey } from "./webhooks/keys";

const BILLING_ROLES = new Set(["owner", "admin", "billing"]);
const BUILDER_ROLES = new Set(["owner", "admin", "developer"]);

function Stat({ label, value, to }: { label: string; value: string | undefined; to?: string }) {
  return (
    <Card className="gap-2">
      <CardHeader>
        <CardDescription>{to ? <Link to={to}>{label}</Link> : label}</CardDescription>
      </CardHeader>
      <CardContent className="text-2xl font-semibold" data-testid={`stat-${label}`}>
        {value === undefined ? <Skeleton className="h-8 w-24" /> : value}
      </CardContent>
    </Card>
  );
}

interface Step {
  shown: boolean;
  label: string;
  done: boolean | undefined;
  to: string;
  hint: string;
}

/** Five steps from a new account to a working integration; each ticks itself when done. */
function FirstSteps({ steps }: { steps: Step[] }) {
  const remaining = steps.filter((step) => !step.done).length;
  return (
    <Card>
      <CardHeader>
        <CardTitle>First steps</CardTitle>
        <CardDescription>{remaining === 0 ? "All done: you are set up." : `${remaining} to go.`}</CardDescription>
      </CardHeader>
      <CardContent>
        <ol className="grid gap-2" aria-label="First steps">
          {steps.map((step) => (
            <li key={step.label} className="flex items-start gap-2" data-done={step.done ? "yes" : "no"}>
              {step.done ? (
                <CheckCircle2 aria-hidden className="text-good-strong mt-0.5 size-4 shrink-0" />
              ) : (
                <Circle aria-hidden className="text-muted-foreground mt-0.5 size-4 shrink-0" />
              )}
              <span>
                <Link to={step.to} className="font-medium underline-offset-4 hover:underline">
                  {step.label}
                </Link>
                <span className="sr-only">{step.done ? " (done)" : " (to do)"}</span>
                <span className="text-muted-foreground block text-sm">{step.hint}</span>
              </span>
            </li>
          ))}
        </ol>
      </CardContent>
    </Card>
  );
}

export function Overview() {
  const org = useOrg();
  const orgId = org.id;
  const base = useBaseUrl();
  const { data: me } = useMe();
  const { data: config } = useConfig();
  const summary = useUsageSummary(orgId, 30);
  const month = useMonthSpend(orgId);
  const deployments = useDeployments();
  const seesBilling = BILLING_ROLES.has(org.role);
  const builds = BUILDER_ROLES.has(org.role);
  const billing = useQuery({
    queryKey: billingKey(orgId),
    queryFn: () => unwrap(client.GET("/api/orgs/{org_id}/billing", { params: { path: { org_id: orgId } } })),
    enabled: seesBilling,
  });
  const keys = useQuery({
    queryKey: queryKeys.keys(orgId),
    queryFn: () => unwrap(client.GET("/api/orgs/{org_id}/keys", { params: { path: { org_id: orgId } } })),
    enabled: builds,
  });
  const webhooks = useQuery({
    queryKey: webhooksKey(orgId),
    queryFn: () => unwrap(client.GET("/api/orgs/{org_id}/webhooks", { params: { path: { org_id: orgId } } })),
    enabled: builds,
  });
  const firstCall = useQuery({
    queryKey: ["orgs", orgId, "usage", "first-call"],
    queryFn: () =>
      unwrap(
        client.GET("/api/orgs/{org_id}/usage/requests", {
          params: { path: { org_id: orgId }, query: { refused: false, limit: 1 } },
        }),
      ),
  });
  const balance = billing.data?.balance_nanos;
  const steps: Step[] = [
    {
      shown: true,
      label: "Verify your email",
      done: me?.user.email_verified,
      to: "/dashboard/settings",
      hint: "Open the link we mailed you; it unlocks sign-in and your welcome credit.",
    },
    {
      shown: seesBilling,
      label: "Add credit",
      done: balance === undefined ? undefined : balance > 0,
      to: "/dashboard/billing",
      hint: "Requests are paid from prepaid credit.",
    },
    {
      shown: builds,
      label: "Create an API key",
      done: keys.data && keys.data.length > 0,
      to: "/dashboard/keys",
      hint: "Keys authenticate your code; each can have its own limits.",
    },
    {
      shown: true,
      label: "Make your first call",
      done: firstCall.data && firstCall.data.data.length > 0,
      to: "/playground",
      hint: "From the playground, or with the sample below.",
    },
    {
      shown: builds,
      label: "Set up a webhook",
      done: webhooks.data && webhooks.data.length > 0,
      to: "/dashboard/webhooks",
      hint: "Get usage and billing events pushed to your endpoint.",
    },
  ];
  return (
    <div className="grid gap-4">
      <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
        <Stat
          label="Active deployments"
          value={deployments.data && count(deployments.data.filter((d) => ACTIVE.has(d.state)).length)}
          to="/dashboard/deployments"
        />
        <Stat label="GPU-hours (MTD)" value={month.data && hours(month.data.gpu_hours)} />
        <Stat label="Spend (MTD)" value={month.data && usd(month.data.total_cost_nanos)} to="/dashboard/billing" />
        <Stat label="Requests, last 30 days" value={summary.data && count(summary.data.requests)} />
      </div>
      {seesBilling && balance !== undefined && balance <= 0 && (
        <p className="border-warn/60 bg-warn/10 rounded-md border p-3 text-sm">
          Your balance is {usd(balance)}: requests are refused until you{" "}
          <Link to="/dashboard/billing" className="underline underline-offset-4">
            add credit
          </Link>
          {config?.environment === "production" ? "." : " (or ask the operator for a grant)."}
        </p>
      )}
      <ActiveDeployments />
      <div className="grid gap-4 lg:grid-cols-2">
        <QuickDeploy />
        <RecentActivity />
      </div>
      <div className="grid gap-4 lg:grid-cols-[1fr_2fr]">
        <FirstSteps steps={steps.filter((step) => step.shown)} />
        <Card className="min-w-0">
          <CardHeader>
            <CardTitle>Make your first call</CardTitle>
            <CardDescription>Create a key under API Keys, export it as GPTAPI_KEY, and run:</CardDescription>
          </CardHeader>
          <CardContent>
            <CodeTabs example={chatExample(base)} />
          </CardContent>
        </Card>
      </div>
    </div>
  );
}
