import { useMutation } from "@tanstack/react-query";
import { useEffect, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router-dom";

import { client, reportError, unwrap } from "@/api/client";
import { Field } from "@/components/Field";
import { useModal } from "@/components/modals/ModalContext";
import { Failed, Loading } from "@/components/States";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { notify } from "@/lib/toast";
import { useTitle } from "@/lib/title";

function Panel({ title, children }: { title: string; children: React.ReactNode }) {
  useTitle(title);
  return (
    <Card className="mx-auto max-w-md">
      <CardHeader>
        <CardTitle>
          <h1>{title}</h1>
        </CardTitle>
      </CardHeader>
      <CardContent className="grid gap-4">{children}</CardContent>
    </Card>
  );
}

/** Links from mail: the token is spent by one POST, made once when the page opens. */
function useTokenAction(path: "/api/auth/verify-email" | "/api/auth/confirm-email-change") {
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const action = useMutation({ mutationFn: () => unwrap(client.POST(path, { body: { token } })) });
  const { mutate } = action;
  useEffect(() => {
    if (token) mutate();
  }, [token, mutate]);
  return { token, action };
}

function TokenOutcome({
  title,
  path,
  success,
}: {
  title: string;
  path: "/api/auth/verify-email" | "/api/auth/confirm-email-change";
  success: string;
}) {
  const { open } = useModal();
  const { token, action } = useTokenAction(path);
  return (
    <Panel title={title}>
      {!token ? (
        <Failed message="This link is missing its token." />
      ) : action.isError ? (
        <Failed message={action.error.message} />
      ) : action.isSuccess ? (
        <>
          <p>{success}</p>
          <Button onClick={() => open({ kind: "signin" })}>Sign In</Button>
        </>
      ) : (
        <Loading label="Checking your link" rows={1} />
      )}
    </Panel>
  );
}

export function VerifyEmail() {
  return (
    <TokenOutcome title="Verify your email" path="/api/auth/verify-email" success="Your email address is verified." />
  );
}

export function ConfirmEmail() {
  return (
    <TokenOutcome
      title="Confirm your new email"
      path="/api/auth/confirm-email-change"
      success="Your email address has changed."
    />
  );
}

export function ResetPassword() {
  const [params] = useSearchParams();
  const { open } = useModal();
  const reset = useMutation({
    mutationFn: (password: string) =>
      unwrap(client.POST("/api/auth/reset-password", { body: { token: params.get("token") ?? "", password } })),
    onSuccess: () => {
      notify.good("Password changed.", "Sign in with your new password.");
      open({ kind: "signin", returnTo: "/dashboard" });
    },
    onError: reportError,
  });
  if (reset.isSuccess) {
    return (
      <Panel title="Password changed">
        <p>Your new password is set, and browsers signed in with the old one are signed out.</p>
        <Button onClick={() => open({ kind: "signin", returnTo: "/dashboard" })}>Sign In</Button>
      </Panel>
    );
  }
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    reset.mutate(String(new FormData(event.currentTarget).get("password")));
  };
  return (
    <Panel title="Choose a new password">
      <CardDescription>At least 10 characters.</CardDescription>
      <form className="grid gap-4" onSubmit={submit}>
        <Field
          label="New password"
          name="password"
          type="password"
          autoComplete="new-password"
          minLength={10}
          required
        />
        <Button type="submit" disabled={reset.isPending}>
          Set password
        </Button>
      </form>
    </Panel>
  );
}

export function NotFound() {
  useTitle("Page not found");
  return (
    <div className="grid place-items-center gap-4 py-20 text-center">
      <h1 className="text-3xl font-bold">Page not found</h1>
      <Button asChild>
        <Link to="/">Go home</Link>
      </Button>
    </div>
  );
}
