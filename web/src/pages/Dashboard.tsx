import { motion } from "motion/react";
import { useNavigate, useParams } from "react-router-dom";

import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useRef } from "react";

import { client, reportError, unwrap } from "@/api/client";
import { currentOrganization, queryKeys, useMe, useOrganizations } from "@/api/hooks";
import type { Organization } from "@/api/types";
import { useModal } from "@/components/modals/ModalContext";
import { Failed, Loading } from "@/components/States";
import { Label } from "@/components/ui/label";
import { Button } from "@/components/ui/button";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { useTitle } from "@/lib/title";

import { ApiKeys } from "./dashboard/ApiKeys";
import { BalanceBar } from "./dashboard/BalanceBar";
import { Billing } from "./dashboard/Billing";
import { Deployments } from "./dashboard/Deployments";
import { Overview } from "./dashboard/Overview";
import { Pods } from "./dashboard/Pods";
import { Settings } from "./dashboard/Settings";
import { Team } from "./dashboard/Team";
import { Usage } from "./dashboard/Usage";
import { Webhooks } from "./dashboard/Webhooks";

const TABS = [
  ["overview", "Overview", Overview],
  ["keys", "API Keys", ApiKeys],
  ["deployments", "Deployments", Deployments],
  ["pods", "Pods", Pods],
  ["usage", "Usage", Usage],
  ["billing", "Billing", Billing],
  ["webhooks", "Webhooks", Webhooks],
  ["team", "Team", Team],
  ["settings", "Settings", Settings],
] as const;

type TabId = (typeof TABS)[number][0];

function isTab(value: string | undefined): value is TabId {
  return TABS.some(([id]) => id === value);
}

function SignedOut() {
  const { open } = useModal();
  return (
    <div className="grid place-items-center gap-4 py-20 text-center">
      <h1 className="text-2xl font-semibold">Sign in to open your dashboard</h1>
      <div className="flex gap-2">
        <Button onClick={() => open({ kind: "signin" })}>Sign In</Button>
        <Button variant="outline" onClick={() => open({ kind: "signup" })}>
          Register
        </Button>
      </div>
    </div>
  );
}

/** Switching makes the chosen organisation the default, so the console opens there next time. */
function OrganizationSwitcher({ orgs, current }: { orgs: Organization[]; current: Organization }) {
  const id = useId();
  const queryClient = useQueryClient();
  if (orgs.length < 2) return null;
  const switchTo = async (orgId: string) => {
    try {
      await unwrap(client.PUT("/api/orgs/{org_id}/default", { params: { path: { org_id: orgId } } }));
      await queryClient.invalidateQueries({ queryKey: queryKeys.orgs });
    } catch (error) {
      reportError(error);
    }
  };
  return (
    <div className="flex items-center gap-2">
      <Label htmlFor={id}>Organisation</Label>
      <select
        id={id}
        value={current.id}
        onChange={(event) => void switchTo(event.target.value)}
        className="border-input dark:bg-input/30 focus-visible:ring-ring/50 h-9 rounded-md border bg-transparent px-3 text-sm outline-none focus-visible:ring-[3px]"
      >
        {orgs.map((org) => (
          <option key={org.id} value={org.id}>
            {org.name}
          </option>
        ))}
      </select>
      <span className="text-muted-foreground text-sm">Your role: {current.role}</span>
    </div>
  );
}

/** On a phone the tabs scroll sideways: the chosen one is brought into view, a fade marks
the edge and a line says there is more. */
function SectionTabs({ current }: { current: TabId }) {
  const list = useRef<HTMLDivElement>(null);
  useEffect(() => {
    list.current?.querySelector('[data-state="active"]')?.scrollIntoView({ block: "nearest", inline: "nearest" });
  }, [current]);
  return (
    <div className="grid min-w-0 grid-cols-1 gap-1">
      <div className="relative min-w-0">
        <TabsList ref={list} aria-label="Dashboard sections" className="w-full sm:w-fit">
          {TABS.map(([id, label]) => (
            <TabsTrigger key={id} value={id}>
              {label}
            </TabsTrigger>
          ))}
        </TabsList>
        <span
          aria-hidden
          className="from-background pointer-events-none absolute inset-y-0 right-0 w-8 rounded-r-lg bg-gradient-to-l sm:hidden"
        />
      </div>
      <p className="text-muted-foreground text-xs sm:hidden">Swipe the tabs sideways for more sections.</p>
    </div>
  );
}

export function Dashboard() {
  const { tab, item } = useParams();
  const navigate = useNavigate();
  const { data: me, isPending } = useMe();
  const orgs = useOrganizations(Boolean(me));
  const current: TabId = isTab(tab) ? tab : "overview";
  // One item of a tab (a deployment, the new pod form) names the page itself.
  useTitle(
    item && (current === "deployments" || current === "pods")
      ? undefined
      : `${TABS.find(([id]) => id === current)?.[1]} · Dashboard`,
  );
  if (isPending) return <Loading label="Loading your account" />;
  if (!me) return <SignedOut />;
  if (orgs.isPending) return <Loading label="Loading your organisations" />;
  if (orgs.isError) return <Failed message="Could not load your organisations." />;
  const org = currentOrganization(orgs.data);
  if (!org) return <Failed message="Your account belongs to no organisation." />;
  return (
    <div className="grid gap-6">
      <div className="flex flex-wrap items-center justify-between gap-4">
        <h1 className="text-3xl font-bold tracking-tight">Dashboard</h1>
        <div className="flex flex-wrap items-center gap-4">
          <OrganizationSwitcher orgs={orgs.data} current={org} />
          <BalanceBar org={org} />
        </div>
      </div>
      <Tabs value={current} onValueChange={(value) => navigate(`/dashboard/${value}`)}>
        <SectionTabs current={current} />
        {TABS.map(([id, , Panel]) => (
          <TabsContent key={`${org.id}-${id}`} value={id} className="mt-4">
            <motion.div initial={{ opacity: 0 }} animate={{ opacity: 1 }} transition={{ duration: 0.15 }}>
              <Panel />
            </motion.div>
          </TabsContent>
        ))}
      </Tabs>
    </div>
  );
}
