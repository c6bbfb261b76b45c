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

/** Every metered request matching the filters, newest first, a page at a time. */
export function RequestLog({ query }: { query: LogQuery }) {
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
        <CardTitle>Requests</CardTitle>
        <CardDescription>Each call to /v1 with its tokens, cost and outcome.</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        {log.isPending ? (
          <Loading label="Loading requests" />
        ) : log.isError ? (
          <Failed message="Could not load the request log." />
        ) : rows.length === 0 ? (
          <Empty title="No requests match." />
        ) : (
          <div className="overflow-x-auto">
            <table className="w-full text-sm">
              <caption className="sr-only">Request log, newest first</caption>
              <thead className="text-muted-foreground text-left">
                <tr>
                  <th className="py-2 pr-4 font-medium">Time</th>
                  <th className="py-2 pr-4 font-medium">Model</th>
                  <th className="py-2 pr-4 font-medium">Key</th>
                  <th className="py-2 pr-4 text-right font-medium">Tokens</th>
                  <th className="py-2 pr-4 text-right font-medium">Cost</th>
                  <th className="py-2 text-right font-medium">Status</th>
                </tr>
              </thead>
              <tbody className="divide-y">
                {rows.map((r) => (
                  <tr key={r.request_id} data-testid="request-row">
                    <td className="py-2 pr-4 whitespace-nowrap">{dateTime(r.created_at)}</td>
                    <td className="py-2 pr-4 font-mono">{r.model}</td>
                    <td className="py-2 pr-4 whitespace-nowrap">{r.key.name}</td>
                    <td className="py-2 pr-4 text-right">{count(r.total_tokens)}</td>
                    <td className="py-2 pr-4 text-right">{usd(r.cost_nanos)}</td>
                    <td className="py-2 text-right">
                      <Badge variant={r.status < 400 ? "good" : r.status < 500 ? "warn" : "bad"}>{r.status}</Badge>
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
