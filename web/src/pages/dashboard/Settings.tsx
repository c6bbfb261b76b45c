import { useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";

import { client, reportError, unwrap } from "@/api/client";
import { queryKeys, useMe } from "@/api/hooks";
import { Field } from "@/components/Field";
import { useModal } from "@/components/modals/ModalContext";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { notify } from "@/lib/toast";

import { useLeave, useSignOut } from "@/components/layout/useSignOut";

import { NotificationSettings } from "./NotificationSettings";
import { AuditLog } from "./settings/AuditLog";
import { EmailChange } from "./settings/EmailChange";
import { SignInMethods } from "./settings/SignInMethods";
import { Sessions } from "./Sessions";
import { TwoFactor } from "./TwoFactor";

function useAction<T>(action: (form: FormData) => Promise<T>, done: string) {
  const [busy, setBusy] = useState(false);
  const onSubmit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const formElement = event.currentTarget;
    setBusy(true);
    try {
      await action(new FormData(formElement));
      notify.good(done);
      formElement.reset();
    } catch (error) {
      reportError(error);
    } finally {
      setBusy(false);
    }
  };
  return { busy, onSubmit };
}

export function Settings() {
  const { data: me } = useMe();
  const queryClient = useQueryClient();
  const profile = useAction(async (form) => {
    await unwrap(client.PATCH("/api/me", { body: { name: String(form.get("name")) } }));
    await queryClient.invalidateQueries({ queryKey: queryKeys.me });
  }, "Profile saved.");
  const password = useAction(
    (form) =>
      unwrap(
        client.POST("/api/auth/change-password", {
          body: {
            current_password: String(form.get("current_password")),
            new_password: String(form.get("new_password")),
          },
        }),
      ),
    "Password changed.",
  );
  const { open } = useModal();
  const signOut = useSignOut();
  const leave = useLeave();
  const deleteAccount = () =>
    open({
      kind: "confirm",
      options: {
        title: "Delete your account?",
        description:
          "Your API keys stop working, your personal organisation closes and you are signed out everywhere. Usage and billing records are kept for accounting.",
        confirmLabel: "Delete account",
        destructive: true,
        onConfirm: async () => {
          await unwrap(client.DELETE("/api/me"));
          leave("Your account has been deleted.");
        },
      },
    });
  return (
    <div className="grid gap-4 lg:grid-cols-2">
      <Card>
        <CardHeader>
          <CardTitle>Profile</CardTitle>
          <CardDescription>{me?.user.email}</CardDescription>
        </CardHeader>
        <CardContent>
          <form className="grid gap-4" onSubmit={profile.onSubmit} aria-label="Profile">
            <Field label="Display name" name="name" defaultValue={me?.user.name} maxLength={200} />
            <div>
              <Button type="submit" disabled={profile.busy}>
                Save
              </Button>
            </div>
          </form>
        </CardContent>
      </Card>
      <Card>
        <CardHeader>
          <CardTitle>Password</CardTitle>
          <CardDescription>Changing it signs out your other browsers.</CardDescription>
        </CardHeader>
        <CardContent>
          <form className="grid gap-4" onSubmit={password.onSubmit} aria-label="Change password">
            <Field
              label="Current password"
              name="current_password"
              type="password"
              autoComplete="current-password"
              required
            />
            <Field
              label="New password"
              name="new_password"
              type="password"
              autoComplete="new-password"
              minLength={10}
              required
            />
            <div>
              <Button type="submit" disabled={password.busy}>
                Change password
              </Button>
            </div>
          </form>
        </CardContent>
      </Card>
      <EmailChange />
      <SignInMethods />
      <TwoFactor />
      <NotificationSettings />
      <Sessions />
      <Card>
        <CardHeader>
          <CardTitle>Account</CardTitle>
          <CardDescription>Sign out of this browser, or delete the account for good.</CardDescription>
        </CardHeader>
        <CardContent className="flex flex-wrap gap-2">
          <Button variant="outline" onClick={() => void signOut()}>
            Sign out
          </Button>
          <Button variant="destructive" onClick={deleteAccount}>
            Delete account
          </Button>
        </CardContent>
      </Card>
      <AuditLog />
    </div>
  );
}
