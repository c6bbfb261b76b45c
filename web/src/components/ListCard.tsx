import type { UseQueryResult } from "@tanstack/react-query";
import type { ReactNode } from "react";

import { Empty, Failed, Loading } from "@/components/States";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";

/** A card of the things a query lists: its title, what they are and its main action, then
the list itself, or the state it is in while there is none (loading, failed, empty). `noun`
names the things in those states ("pods"). */
export function ListCard<T>({
  title,
  description,
  action,
  query,
  noun,
  empty,
  children,
}: {
  title: ReactNode;
  description: ReactNode;
  action: ReactNode;
  query: UseQueryResult<T[]>;
  noun: string;
  empty: ReactNode;
  children: (items: T[]) => ReactNode;
}) {
  return (
    <Card>
      <CardHeader className="flex flex-wrap items-start justify-between gap-2">
        <div className="grid gap-1.5">
          <CardTitle>{title}</CardTitle>
          <CardDescription>{description}</CardDescription>
        </div>
        {action}
      </CardHeader>
      <CardContent>
        {query.isPending ? (
          <Loading label={`Loading ${noun}`} />
        ) : query.isError ? (
          <Failed message={`Could not load your ${noun}.`} />
        ) : query.data.length === 0 ? (
          <Empty title={`No ${noun} yet.`}>{empty}</Empty>
        ) : (
          children(query.data)
        )}
      </CardContent>
    </Card>
  );
}
