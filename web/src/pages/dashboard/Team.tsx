import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, type FormEvent } from "react";

import { client, reportError, unwrap } from "@/api/client";
import type { components } from "@/api/schema";
import { Field } from "@/components/Field";
import { useModal } from "@/components/modals/ModalContext";
import { Empty, Failed, Loading } from "@/components/States";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Label } from "@/components/ui/label";
import { dateTime } from "@/lib/format";
import { notify } from "@/lib/toast";

import { useOrg, useOrgId } from "./useOrg";

type Role = components["schemas"]["Role"];
type Member = components["schemas"]["MemberOut"];

const SELECT =
  "border-input dark:bg-input/30 focus-visible:ring-ring/50 h-9 rounded-md border bg-transparent px-3 text-sm outline-none focus-visible:ring-[3px]";
const ROLES: Role[] = ["developer", "billing", "admin", "owner"];

function InviteForm() {
  const orgId = useOrgId();
  const roleId = useId();
  const queryClient = useQueryClient();
  const invite = useMutation({
    mutationFn: (body: { email: string; role: Role }) =>
      unwrap(client.POST("/api/orgs/{org_id}/invitations", { params: { path: { org_id: orgId } }, body })),
    onSuccess: async (invitation) => {
      await queryClient.invalidateQueries({ queryKey: ["orgs", orgId, "invitations"] });
      notify.good(`Invitation sent to ${invitation.email}.`);
    },
    onError: reportError,
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    invite.mutate({ email: String(form.get("email")), role: String(form.get("role")) as Role });
    event.currentTarget.reset();
  };
  return (
    <form
      onSubmit={submit}
      aria-label="Invite a member"
      className="grid gap-4 sm:grid-cols-[1fr_10rem_auto] sm:items-end"
    >
      <Field label="Email" name="email" type="email" required />
      <div className="grid gap-2">
        <Label htmlFor={roleId}>Role</Label>
        <select id={roleId} name="role" defaultValue="developer" className={SELECT}>
          {ROLES.map((role) => (
            <option key={role} value={role}>
              {role}
            </option>
          ))}
        </select>
      </div>
      <Button type="submit" disabled={invite.isPending}>
        Invite
      </Button>
    </form>
  );
}

/** Owners and admins change roles and remove people; the API has the final word. */
function MemberRow({ member, manage }: { member: Member; manage: boolean }) {
  const orgId = useOrgId();
  const roleId = useId();
  const queryClient = useQueryClient();
  const { open } = useModal();
  const path = { params: { path: { org_id: orgId, user_id: member.user_id } } };
  const refresh = () => queryClient.invalidateQueries({ queryKey: ["orgs", orgId, "members"] });
  const changeRole = async (role: Role) => {
    try {
      await unwrap(client.PATCH("/api/orgs/{org_id}/members/{user_id}", { ...path, body: { role } }));
      notify.good(`${member.email} is now ${role}.`);
    } catch (error) {
      reportError(error);
    }
    await refresh();
  };
  const remove = () =>
    open({
      kind: "confirm",
      options: {
        title: `Remove ${member.email}?`,
        description: "They lose access to this organisation at once; their API keys here stop working.",
        confirmLabel: "Remove",
        destructive: true,
        onConfirm: async () => {
          await unwrap(client.DELETE("/api/orgs/{org_id}/members/{user_id}", path));
          notify.good(`${member.email} was removed.`);
          await refresh();
        },
      },
    });
  return (
    <li className="flex flex-wrap items-center justify-between gap-2 py-3">
      <span>
        <span className="font-medium">{member.name || member.email}</span>{" "}
        <span className="text-muted-foreground text-sm">{member.email}</span>
      </span>
      {manage ? (
        <span className="flex items-center gap-2">
          <label htmlFor={roleId} className="sr-only">
            Role of {member.email}
          </label>
          <select
            id={roleId}
            value={member.role}
            onChange={(event) => void changeRole(event.target.value as Role)}
            className={SELECT}
          >
            {ROLES.map((role) => (
              <option key={role} value={role}>
                {role}
              </option>
            ))}
          </select>
          <Button variant="outline" size="sm" onClick={remove}>
            Remove
          </Button>
        </span>
      ) : (
        <Badge variant="secondary">{member.role}</Badge>
      )}
    </li>
  );
}

export function Team() {
  const org = useOrg();
  const orgId = org.id;
  const canManage = org.role === "owner" || org.role === "admin";
  const path = { params: { path: { org_id: orgId } } };
  const members = useQuery({
    queryKey: ["orgs", orgId, "members"],
    queryFn: () => unwrap(client.GET("/api/orgs/{org_id}/members", path)),
  });
  const invitations = useQuery({
    queryKey: ["orgs", orgId, "invitations"],
    queryFn: () => unwrap(client.GET("/api/orgs/{org_id}/invitations", path)),
    retry: false,
  });
  return (
    <Card>
      <CardHeader>
        <CardTitle>Team</CardTitle>
        <CardDescription>People in this organisation and what they may do.</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-6">
        {canManage && <InviteForm />}
        {members.isPending ? (
          <Loading label="Loading members" />
        ) : members.isError ? (
          <Failed message="Could not load members." />
        ) : (
          <ul className="divide-y">
            {members.data.map((m) => (
              <MemberRow key={m.user_id} member={m} manage={canManage} />
            ))}
          </ul>
        )}
        <section aria-labelledby="pending" className="grid gap-2">
          <h3 id="pending" className="font-medium">
            Pending invitations
          </h3>
          {invitations.isPending ? (
            <Loading label="Loading invitations" rows={1} />
          ) : invitations.isError || invitations.data.length === 0 ? (
            <Empty title="No pending invitations." />
          ) : (
            <ul className="divide-y text-sm">
              {invitations.data.map((i) => (
                <li key={i.id} className="flex flex-wrap justify-between gap-2 py-2">
                  <span>
                    {i.email} · {i.role}
                  </span>
                  <span className="text-muted-foreground">expires {dateTime(i.expires_at)}</span>
                </li>
              ))}
            </ul>
          )}
        </section>
      </CardContent>
    </Card>
  );
}
