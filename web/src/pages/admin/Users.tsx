import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { client, reportError, unwrap } from "@/api/client";
import type { OperatorUser } from "@/api/types";
import { useModal } from "@/components/modals/ModalContext";
import { Empty, Failed, Loading } from "@/components/States";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { dateTime } from "@/lib/format";
import { notify } from "@/lib/toast";

const USERS = ["admin", "users"] as const;

type User = OperatorUser;

function UserRow({ user }: { user: User }) {
  const queryClient = useQueryClient();
  const { open } = useModal();
  const unsuspend = useMutation({
    mutationFn: () =>
      unwrap(client.POST("/api/admin/users/{user_id}/unsuspend", { params: { path: { user_id: user.id } } })),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: USERS });
      notify.good(`${user.email} can sign in again.`);
    },
    onError: reportError,
  });
  const suspend = () =>
    open({
      kind: "confirm",
      options: {
        title: `Suspend ${user.email}?`,
        description: "Their sessions end at once and their API keys stop working until the suspension is lifted.",
        confirmLabel: "Suspend",
        destructive: true,
        onConfirm: async () => {
          await unwrap(client.POST("/api/admin/users/{user_id}/suspend", { params: { path: { user_id: user.id } } }));
          await queryClient.invalidateQueries({ queryKey: USERS });
          notify.good(`${user.email} is suspended.`);
        },
      },
    });
  return (
    <li className="flex flex-wrap items-center justify-between gap-2 py-2 text-sm">
      <span className="grid">
        <span className="font-medium">{user.email}</span>
        <span className="text-muted-foreground text-xs">
          {user.name || "no name"} · joined {dateTime(user.created_at)}
        </span>
      </span>
      <span className="flex items-center gap-2">
        {user.is_admin && <Badge variant="secondary">admin</Badge>}
        {!user.email_verified && <Badge variant="outline">unverified</Badge>}
        {user.is_active ? (
          <Button variant="outline" size="sm" onClick={suspend}>
            Suspend
          </Button>
        ) : (
          <>
            <Badge variant="bad">suspended</Badge>
            <Button variant="outline" size="sm" disabled={unsuspend.isPending} onClick={() => unsuspend.mutate()}>
              Unsuspend
            </Button>
          </>
        )}
      </span>
    </li>
  );
}

export function Users() {
  const [search, setSearch] = useState("");
  const users = useQuery({
    queryKey: [...USERS, search],
    queryFn: () =>
      unwrap(client.GET("/api/admin/users", { params: { query: { query: search || undefined, limit: 50 } } })),
  });
  return (
    <Card>
      <CardHeader>
        <CardTitle>Users</CardTitle>
        <CardDescription>Everyone with an account; suspend to stop their sessions and keys.</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-6">
        <div className="grid gap-2">
          <Label htmlFor="user-search">Search by email or name</Label>
          <Input id="user-search" type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
        </div>
        {users.isPending ? (
          <Loading label="Loading users" />
        ) : users.isError ? (
          <Failed message="Could not load users." />
        ) : users.data.data.length === 0 ? (
          <Empty title="No users match." />
        ) : (
          <ul className="divide-y" aria-label="Users">
            {users.data.data.map((user) => (
              <UserRow key={user.id} user={user} />
            ))}
          </ul>
        )}
      </CardContent>
    </Card>
  );
}
