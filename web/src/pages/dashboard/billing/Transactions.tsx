import { useInfiniteQuery } from "@tanstack/react-query";
import { Download } from "lucide-react";

import { client, unwrap } from "@/api/client";
import { ScrollTable } from "@/components/ScrollTable";
import { Empty, Failed, Loading } from "@/components/States";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { dateTime, usd } from "@/lib/format";

import { useOrgId } from "../useOrg";
import { billingKey } from "./keys";

const PAGE = 20;

function signed(nanos: number): string {
  return nanos > 0 ? `+${usd(nanos)}` : usd(nanos);
}

/** The ledger, newest first: a model's requests and a deployment's running time summed per
day, payments and grants one by one, each with the balance after it. */
export function Transactions() {
  const orgId = useOrgId();
  const pages = useInfiniteQuery({
    queryKey: [...billingKey(orgId), "transactions"],
    queryFn: ({ pageParam }) =>
      unwrap(
        client.GET("/api/orgs/{org_id}/billing/transactions", {
          params: { path: { org_id: orgId }, query: { limit: PAGE, ...(pageParam ? { cursor: pageParam } : {}) } },
        }),
      ),
    initialPageParam: "",
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const lines = pages.data?.pages.flatMap((page) => page.data) ?? [];
  return (
    <Card>
      <CardHeader className="flex flex-wrap items-start justify-between gap-2">
        <div className="grid gap-1.5">
          <CardTitle>Transaction history</CardTitle>
          <CardDescription>Usage and deployments summed per day; payments and grants one by one.</CardDescription>
        </div>
        <Button variant="outline" size="sm" asChild>
          <a href={`/api/orgs/${orgId}/billing/transactions.csv`} download>
            <Download aria-hidden /> Download CSV
          </a>
        </Button>
      </CardHeader>
      <CardContent className="grid gap-4">
        {pages.isPending ? (
          <Loading label="Loading transactions" />
        ) : pages.isError ? (
          <Failed message="Could not load transactions." />
        ) : lines.length === 0 ? (
          <Empty title="No transactions yet." />
        ) : (
          <ScrollTable
            label="Transactions table"
            caption="Transactions, newest first, with the balance after each"
            columns={[
              { name: "Date" },
              { name: "Description" },
              { name: "Amount", numeric: true },
              { name: "Balance", numeric: true },
            ]}
          >
            {lines.map((line) => (
              <tr key={line.id} data-testid="transaction">
                <td className="text-muted-foreground py-2 pr-4 whitespace-nowrap">{dateTime(line.at)}</td>
                <td className="py-2 pr-4">
                  {line.description}
                  {line.receipt_url && (
                    <>
                      {" "}
                      <a
                        className="underline underline-offset-4"
                        href={line.receipt_url}
                        target="_blank"
                        rel="noreferrer"
                      >
                        receipt
                      </a>
                    </>
                  )}
                </td>
                <td
                  className={`py-2 pr-4 text-right whitespace-nowrap tabular-nums ${line.amount_nanos > 0 ? "text-good-strong" : ""}`}
                >
                  {signed(line.amount_nanos)}
                </td>
                <td className="py-2 text-right whitespace-nowrap tabular-nums">{usd(line.balance_nanos)}</td>
              </tr>
            ))}
          </ScrollTable>
        )}
        {pages.hasNextPage && (
          <div>
            <Button
              variant="outline"
              size="sm"
              onClick={() => void pages.fetchNextPage()}
              disabled={pages.isFetchingNextPage}
            >
              Load more
            </Button>
          </div>
        )}
      </CardContent>
    </Card>
  );
}
