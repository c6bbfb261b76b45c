import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { client, reportError, unwrap } from "@/api/client";
import type { OperatorServer } from "@/api/types";
import { Empty, Failed, Loading } from "@/components/States";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { notify } from "@/lib/toast";

const SERVERS = ["admin", "servers"] as const;

type Server = OperatorServer;

function Health({ server }: { server: Server }) {
  const health = server.health;
  if (!health) return <Badge variant="outline">not synced yet</Badge>;
  return (
    <span className="flex flex-wrap items-center gap-2">
      <Badge variant={health.healthy ? "good" : "bad"}>{health.healthy ? "healthy" : "unhealthy"}</Badge>
      <span className="text-muted-foreground text-xs">
        {health.in_flight}/{health.slots} busy
        {health.last_error && ` · ${health.last_error}`}
      </span>
    </span>
  );
}

function ServerRow({ server }: { server: Server }) {
  const queryClient = useQueryClient();
  const draining = server.state === "draining";
  const setState = useMutation({
    mutationFn: (state: "active" | "draining") =>
      unwrap(
        client.PATCH("/api/admin/servers/{server_id}", { params: { path: { server_id: server.id } }, body: { state } }),
      ),
    onSuccess: async (updated) => {
      await queryClient.invalidateQueries({ queryKey: SERVERS });
      notify.good(
        updated.state === "draining" ? `${server.base_url} takes no new requests.` : `${server.base_url} is back.`,
      );
    },
    onError: reportError,
  });
  return (
    <li className="grid gap-2 py-2 text-sm sm:grid-cols-[1fr_auto] sm:items-center">
      <span className="grid gap-1">
        <span className="flex flex-wrap items-center gap-2">
          <code>{server.base_url}</code>
          <Badge variant="outline">{server.model}</Badge>
          {draining && <Badge variant="warn">draining</Badge>}
        </span>
        <Health server={server} />
      </span>
      <Button
        variant="outline"
        size="sm"
        disabled={setState.isPending}
        onClick={() => setState.mutate(draining ? "active" : "draining")}
      >
        {draining ? "Undrain" : "Drain"}
      </Button>
    </li>
  );
}

export function Servers() {
  const servers = useQuery({
    queryKey: SERVERS,
    queryFn: () => unwrap(client.GET("/api/admin/servers")),
    refetchInterval: 10_000,
  });
  return (
    <Card>
      <CardHeader>
        <CardTitle>Servers</CardTitle>
        <CardDescription>
          Upstream model servers; drain one to let its requests finish before maintenance.
        </CardDescription>
      </CardHeader>
      <CardContent>
        {servers.isPending ? (
          <Loading label="Loading servers" />
        ) : servers.isError ? (
          <Failed message="Could not load servers." />
        ) : servers.data.length === 0 ? (
          <Empty title="No servers." />
        ) : (
          <ul className="divide-y" aria-label="Servers">
            {servers.data.map((server) => (
              <ServerRow key={server.id} server={server} />
            ))}
          </ul>
        )}
      </CardContent>
    </Card>
  );
}
