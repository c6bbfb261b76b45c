import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useLocation, useNavigate } from "react-router-dom";
import { useEffect, useState } from "react";

import { ApiError, client, reportError, unwrap } from "@/api/client";
import { computeKeys, gpuLabel, pollInterval, type Deployment } from "@/api/compute";
import { CodeTabs, CopyButton } from "@/components/CodeTabs";
import { useModal } from "@/components/modals/ModalContext";
import { Failed, Loading } from "@/components/States";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { dateTime, duration, usd } from "@/lib/format";
import { deploymentExample } from "@/lib/examples";
import { useTitle } from "@/lib/title";

import { DeploymentButtons, useCanManage } from "./actions";
import { useOrgId } from "../useOrg";
import { liveCost } from "./cost";
import { LiveLogs } from "./LiveLogs";
import { LiveMetrics, Scaling } from "./LiveMetrics";
import { StateBadge } from "./StateBadge";

const IDLE_POLL_MS = 5_000;

/** The sk_dep_ key: its prefix while it works, the whole key once right after it is issued;
replacing a working key asks first, since the old one stops at once. */
function DeploymentKeyPanel({ deployment }: { deployment: Deployment }) {
  const orgId = useOrgId();
  const queryClient = useQueryClient();
  const { open } = useModal();
  const canManage = useCanManage();
  const [secret, setSecret] = useState<string | null>(null);
  const issue = useMutation({
    mutationFn: () =>
      unwrap(
        client.POST("/api/orgs/{org_id}/deployments/{deployment_id}/key", {
          params: { path: { org_id: orgId, deployment_id: deployment.id } },
        }),
      ),
    onSuccess: async (key) => {
      setSecret(key.secret);
      await queryClient.invalidateQueries({ queryKey: computeKeys.deployments(orgId) });
    },
    onError: reportError,
  });
  const regenerate = () =>
    open({
      kind: "confirm",
      options: {
        title: "Regenerate the deployment key?",
        description: "The current key of this deployment stops working at once; clients using it need the new one.",
        confirmLabel: "Regenerate key",
        destructive: true,
        onConfirm: async () => {
          await issue.mutateAsync();
        },
      },
    });
  const prefix = deployment.key_prefix;
  return (
    <div className="grid gap-3">
      <dl className="grid gap-1 text-sm sm:grid-cols-[auto_1fr] sm:items-center sm:gap-x-4">
        <dt className="text-muted-foreground">API key</dt>
        <dd className="flex flex-wrap items-center gap-2">
          {prefix ? (
            <code data-testid="deployment-key-masked" aria-label={`Key starting ${prefix}, hidden`}>
              {prefix}••••••••
            </code>
          ) : (
            <span className="text-muted-foreground">No key yet</span>
          )}
          {canManage &&
            (prefix ? (
              <Button variant="outline" size="sm" onClick={regenerate} disabled={issue.isPending}>
                Regenerate
              </Button>
            ) : (
              <Button variant="outline" size="sm" onClick={() => issue.mutate()} disabled={issue.isPending}>
                Create key
              </Button>
            ))}
        </dd>
      </dl>
      {secret && (
        <div role="alert" className="border-good/40 bg-good/10 grid gap-2 rounded-lg border p-4">
          <p className="font-medium">Copy the key now. It will not be shown again.</p>
          <div className="bg-background flex items-center gap-2 rounded-md border px-3 py-1">
            <code data-testid="deployment-key-secret" className="flex-1 overflow-x-auto text-sm whitespace-nowrap">
              {secret}
            </code>
            <CopyButton text={secret} label="Copy deployment key" />
          </div>
        </div>
      )}
      <p className="text-muted-foreground text-sm">
        A key starting with sk_dep_ calls this deployment and nothing else, so it is safe to hand to its clients. Any of
        your organisation's API keys works too.
      </p>
    </div>
  );
}

function Connection({ deployment }: { deployment: Deployment }) {
  return (
    <Card id="connection" className="scroll-mt-20">
      <CardHeader>
        <CardTitle>Connection</CardTitle>
        <CardDescription>
          An OpenAI-compatible endpoint: send <code>model</code> = <code>{deployment.name}</code>.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        <dl className="grid gap-1 text-sm sm:grid-cols-[auto_1fr] sm:gap-x-4">
          <dt className="text-muted-foreground">API endpoint</dt>
          <dd className="flex min-w-0 items-center gap-1">
            <code data-testid="deployment-endpoint" className="truncate">
              {deployment.api_base}
            </code>
            <CopyButton text={deployment.api_base} label="Copy API endpoint" />
          </dd>
          <dt className="text-muted-foreground">Model</dt>
          <dd>
            <code>{deployment.name}</code>
          </dd>
        </dl>
        <DeploymentKeyPanel deployment={deployment} />
        <div className="grid gap-2">
          <h3 className="text-sm font-medium">Quick start</h3>
          <p className="text-muted-foreground text-sm">Export the key as DEPLOYMENT_KEY and run:</p>
          <CodeTabs example={deploymentExample(deployment.api_base, deployment.name)} />
        </div>
      </CardContent>
    </Card>
  );
}

function useLiveCost(deployment: Deployment, fetchedAt: number): { seconds: number; nanos: number } {
  const [now, setNow] = useState(() => Date.now());
  const running = deployment.state === "ready";
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => setNow(Date.now()), 1_000);
    return () => clearInterval(timer);
  }, [running]);
  return liveCost(deployment, fetchedAt, Math.max(now, fetchedAt));
}

function Configuration({ deployment, fetchedAt }: { deployment: Deployment; fetchedAt: number }) {
  const live = useLiveCost(deployment, fetchedAt);
  return (
    <Card>
      <CardHeader>
        <CardTitle>Configuration and cost</CardTitle>
        <CardDescription>Billed per second while ready, minimum 1 minute per start.</CardDescription>
      </CardHeader>
      <CardContent>
        <dl className="grid gap-1 text-sm sm:grid-cols-[auto_1fr] sm:gap-x-6">
          <dt className="text-muted-foreground">GPU</dt>
          <dd>{gpuLabel(deployment)}</dd>
          <dt className="text-muted-foreground">Cost</dt>
          <dd>{usd(deployment.price_nanos_per_hour)}/hour</dd>
          <dt className="text-muted-foreground">Mode</dt>
          <dd>
            {deployment.mode === "serverless" ? "Serverless" : "Always on"} · replicas {deployment.min_replicas}–
            {deployment.max_replicas}
          </dd>
          <dt className="text-muted-foreground">Created</dt>
          <dd>{dateTime(deployment.created_at)}</dd>
          <dt className="text-muted-foreground">Started</dt>
          <dd>{dateTime(deployment.ready_at)}</dd>
          <dt className="text-muted-foreground">Runtime</dt>
          <dd data-testid="deployment-runtime">{duration(live.seconds)}</dd>
          <dt className="text-muted-foreground">Total cost</dt>
          <dd className="font-semibold" data-testid="deployment-cost" aria-live="off">
            {usd(live.nanos)}
          </dd>
        </dl>
      </CardContent>
    </Card>
  );
}

export function DeploymentDetail({ id }: { id: string }) {
  const orgId = useOrgId();
  const navigate = useNavigate();
  const deployment = useQuery({
    queryKey: computeKeys.deployment(orgId, id),
    queryFn: () =>
      unwrap(
        client.GET("/api/orgs/{org_id}/deployments/{deployment_id}", {
          params: { path: { org_id: orgId, deployment_id: id } },
        }),
      ),
    refetchInterval: (query) => {
      const data = query.state.data;
      if (!data) return false;
      // An idle serverless deployment wakes on a request from elsewhere: keep its replicas current.
      return data.state === "idle" ? IDLE_POLL_MS : pollInterval([data.state]);
    },
    retry: (failures, error) => !(error instanceof ApiError && error.status === 404) && failures < 2,
  });
  useTitle(deployment.data ? `${deployment.data.name} · Deployments` : "Deployment");
  // The overview links to a section (#connection, #logs), which exists once the page loads.
  const { hash } = useLocation();
  const loaded = deployment.isSuccess;
  useEffect(() => {
    if (loaded && hash) document.getElementById(hash.slice(1))?.scrollIntoView({ block: "start" });
  }, [loaded, hash]);
  if (deployment.isPending) return <Loading label="Loading the deployment" />;
  if (deployment.isError) {
    const gone = deployment.error instanceof ApiError && deployment.error.status === 404;
    return <Failed message={gone ? "No such deployment in this organisation." : "Could not load the deployment."} />;
  }
  const d = deployment.data;
  return (
    <div className="grid gap-4">
      <div className="flex flex-wrap items-start justify-between gap-4">
        <div className="grid gap-1">
          <h2 className="flex flex-wrap items-center gap-3 text-2xl font-semibold">
            {d.name} <StateBadge state={d.state} />
          </h2>
          <p className="text-muted-foreground text-sm">
            Deployment ID <code>{d.id}</code> · {d.catalog_slug}
          </p>
          {d.state_reason && (
            <p role={d.state === "failed" ? "alert" : undefined} className="text-muted-foreground text-sm">
              {d.state_reason}
            </p>
          )}
        </div>
        <DeploymentButtons deployment={d} onDeleted={() => navigate("/dashboard/deployments")} />
      </div>
      <Connection deployment={d} />
      <Configuration deployment={d} fetchedAt={deployment.dataUpdatedAt} />
      <Scaling deployment={d} />
      <LiveMetrics deployment={d} />
      <LiveLogs deployment={d} />
    </div>
  );
}
