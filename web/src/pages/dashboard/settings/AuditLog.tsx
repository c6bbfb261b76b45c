import { useInfiniteQuery } from "@tanstack/react-query";

import { client, unwrap } from "@/api/client";
import { ScrollTable } from "@/components/ScrollTable";
import { Empty, Failed, Loading } from "@/components/States";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { dateTime } from "@/lib/format";

import { useOrg } from "../useOrg";

const AUDIT_ROLES = new Set(["owner", "admin"]);

/** Who changed what in the organisation, newest first (owners and admins). */
export function AuditLog() {
  const org = useOrg();
  const allowed = AUDIT_ROLES.has(org.role);
  const log = useInfiniteQuery({
    queryKey: ["orgs", org.id, "audit"],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(
        client.GET("/api/orgs/{org_id}/audit-log", {
          params: { path: { org_id: org.id }, query: { cursor: pageParam, limit: 20 } },
        }),
      ),
    getNextPageParam: (page) => page.next_cursor ?? undefined,
    enabled: allowed,
  });
  if (!allowed) return null;
  const rows = log.data?.pages.flatMap((page) => page.data) ?? [];
  return (
    <Card className="lg:col-span-2">
      <CardHeader>
        <CardTitle>Audit log</CardTitle>
        <CardDescription>Every change to {org.name}: keys, members, billing and webhooks.</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        {log.isPending ? (
          <Loading label="Loading the audit log" rows={2} />
        ) : log.isError ? (
          <Failed message="Could not load the audit log." />
        ) : rows.length === 0 ? (
          <Empty title="Nothing has changed yet." />
        ) : (
          <ScrollTable
            label="Audit log entries"
            caption="Audit log, newest first"
            columns={[{ name: "When" }, { name: "Who" }, { name: "What" }, { name: "Target" }]}
          >
            {rows.map((entry) => (
              <tr key={entry.id} data-testid="audit-row">
                <td className="py-2 pr-4 whitespace-nowrap">{dateTime(entry.created_at)}</td>
                <td className="py-2 pr-4">{entry.actor_email ?? "the platform"}</td>
                <td className="py-2 pr-4 font-mono text-xs">{entry.action}</td>
                <td className="py-2 font-mono text-xs break-all">
                  {entry.target_type} {entry.target_id}
                </td>
              </tr>
            ))}
          </ScrollTable>
        )}
        {log.hasNextPage && (
          <Button variant="outline" className="w-fit" onClick={() => void log.fetchNextPage()}>
            Load more
          </Button>
        )}
      </CardContent>
    </Card>
  );
}
