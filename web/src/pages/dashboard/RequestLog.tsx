import { useInfiniteQuery } from "@tanstack/react-query";

import { client, unwrap } from "@/api/client";
import { Empty, Failed, Loading } from "@/components/States";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { count, dateTime, usd } from "@/lib/format";

import type { LogQuery } from "./usageFilters";
import { useOrgId } from "./useOrg";

const PAGE = 25;

// What each outcome means for the person reading the log: the tone follows that, not the
// status code (a refusal is something to act on, a server failure is bad news).
const OUTCOME_TONE: Record<string, "good" | "warn" | "bad" | "secondary"> = {
  completed: "good",
  rate_limited: "warn",
  insufficient_quota: "warn",
  spend_cap_reached: "warn",
  model_not_allowed: "warn",
  client_disconnect: "secondary",
  upstream_rejected: "warn",
};

const OUTCOME_LABEL: Record<string, string> = {
  completed: "completed",
  rate_limited: "rate limit reached",
  insufficient_quota: "no credit left",
  spend_cap_reached: "key's spend cap reached",
  model_not_allowed: "model not allowed for this key",
  client_disconnect: "client left",
  upstream_rejected: "rejected by the model",
  upstream_error: "model server failed",
  upstream_unavailable: "no capacity",
  timeout: "timed out",
};

/** Every request matching the filters, newest first, a page at a time. */
export function RequestLog({
  query,
  title = "Requests",
  description = "Each call to /v1 with its tokens, cost and outcome.",
  empty = "No requests match.",
}: {
  query: LogQuery & { refused?: boolean };
  title?: string;
  description?: string;
  empty?: string;
}) {
  const orgId = useOrgId();
  const log = useInfiniteQuery({
    queryKey: ["orgs", orgId, "usage", "requests", query],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(
        client.GET("/api/orgs/{org_id}/usage/requests", {
          params: { path: { org_id: orgId }, query: { ...query, cursor: pageParam, limit: PAGE } },
        }),
      ),
    getNextPageParam: (page) => page.next_cursor ?? undefined,
  });
  const rows = log.data?.pages.flatMap((page) => page.data) ?? [];
  return (
    <Card>
      <CardHeader>
        <CardTitle>{title}</CardTitle>
        <CardDescription>{description}</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        {log.isPending ? (
          <Loading label="Loading requests" />
        ) : log.isError ? (
          <Failed message="Could not load the request log." />
        ) : rows.length === 0 ? (
          <Empty title={empty} />
        ) : (
          <div className="overflow-x-auto" tabIndex={0} role="region" aria-label={title}>
            <table className="w-full text-sm">
              <caption className="sr-only">{title}, newest first</caption>
              <thead className="text-muted-foreground text-left">
                <tr>
                  <th className="py-2 pr-4 font-medium">Time</th>
                  <th className="py-2 pr-4 font-medium">Model</th>
                  <th className="py-2 pr-4 font-medium">Key</th>
                  <th className="py-2 pr-4 text-right font-medium">Tokens</th>
                  <th className="py-2 pr-4 text-right font-medium">Cost</th>
                  <th className="py-2 text-right font-medium">Outcome</th>
                </tr>
              </thead>
              <tbody className="divide-y">
                {rows.map((r) => (
                  <tr key={r.request_id} data-testid={query.refused ? "refused-row" : "request-row"}>
                    <td className="py-2 pr-4 whitespace-nowrap">{dateTime(r.created_at)}</td>
                    <td className="py-2 pr-4 font-mono">{r.model}</td>
                    <td className="py-2 pr-4 whitespace-nowrap">{r.key.name}</td>
                    <td className="py-2 pr-4 text-right">{count(r.total_tokens)}</td>
                    <td className="py-2 pr-4 text-right">{usd(r.cost_nanos)}</td>
                    <td className="py-2 text-right whitespace-nowrap">
                      <Badge variant={OUTCOME_TONE[r.outcome] ?? "bad"}>
                        {r.status} · {OUTCOME_LABEL[r.outcome] ?? r.outcome}
                      </Badge>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {log.hasNextPage && (
          <Button
            variant="outline"
            className="w-fit"
            onClick={() => void log.fetchNextPage()}
            disabled={log.isFetchingNextPage}
          >
            Load more
          </Button>
        )}
      </CardContent>
    </Card>
  );
}
