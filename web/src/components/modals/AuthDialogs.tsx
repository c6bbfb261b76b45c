import { useQueryClient } from "@tanstack/react-query";
import { Loader2 } from "lucide-react";
import { useState, type FormEvent } from "react";
import { useLocation, useNavigate } from "react-router-dom";

import { ApiError, client, reportError, unwrap } from "@/api/client";
import { queryKeys, useConfig } from "@/api/hooks";
import { Field } from "@/components/Field";
import { Button } from "@/components/ui/button";
import { DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { check, useSupabase } from "@/lib/supabase";
import { notify } from "@/lib/toast";

import { useModal } from "./ModalContext";

function useSubmit(action: (form: FormData) => Promise<void>) {
  const [busy, setBusy] = useState(false);
  const onSubmit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    setBusy(true);
    try {
      await action(new FormData(event.currentTarget));
    } catch (error) {
      reportError(error);
    } finally {
      setBusy(false);
    }
  };
  return { busy, onSubmit };
}

function Submit({ busy, children }: { busy: boolean; children: string }) {
  return (
    <Button type="submit" disabled={busy} className="w-full">
      {busy && <Loader2 className="animate-spin" aria-hidden />}
      {children}
    </Button>
  );
}

// Pages that need a signed-in person to finish (an invitation) stay put after sign-in.
const STAY_AFTER_SIGN_IN = new Set(["/invite"]);

function useSignedIn(returnTo?: string) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const { pathname } = useLocation();
  const { close } = useModal();
  return async () => {
    await queryClient.invalidateQueries({ queryKey: queryKeys.me });
    close();
    notify.good("Signed in.");
    if (returnTo) navigate(returnTo);
    else if (!STAY_AFTER_SIGN_IN.has(pathname)) navigate("/dashboard");
  };
}

/** Signing in before the address is verified: say so, and offer a new link right there. */
function ResendVerification({ email }: { email: string }) {
  const [sent, setSent] = useState(false);
  const resend = async () => {
    try {
      const notice = await unwrap(client.POST("/api/auth/resend-verification", { body: { email } }));
      setSent(true);
      notify.good("Verification link sent.", notice.message);
    } catch (error) {
      reportError(error);
    }
  };
  return (
    <div role="alert" className="border-warn/60 bg-warn/10 grid gap-2 rounded-md border p-3 text-sm">
      <p>Verify your email address first: open the link we mailed to {email}.</p>
      <div>
        <Button type="button" variant="outline" size="sm" onClick={() => void resend()} disabled={sent}>
          {sent ? "Link sent" : "Send a new link"}
        </Button>
      </div>
    </div>
  );
}

const PROVIDER_NAMES: Record<string, string> = {
  google: "Google",
  github: "GitHub",
  facebook: "Facebook",
  indeed: "Indeed",
};

/** Buttons only for the providers the server has enabled. */
function OAuthButtons() {
  const { data } = useConfig();
  const providers = data?.oauth_providers ?? [];
  if (providers.length === 0) return null;
  return (
    <div className="grid gap-2">
      {providers.map((provider) => (
        <Button key={provider} variant="outline" asChild>
          <a href={`/api/auth/oauth/${encodeURIComponent(provider)}/authorize?next=/dashboard`}>
            Continue with {PROVIDER_NAMES[provider] ?? provider}
          </a>
        </Button>
      ))}
      <p className="text-muted-foreground text-center text-xs">or with your email</p>
    </div>
  );
}

export function SignInDialog({ returnTo, notice }: { returnTo?: string; notice?: string }) {
  const { open } = useModal();
  const signedIn = useSignedIn(returnTo);
  const supabase = useSupabase();
  const [unverified, setUnverified] = useState<string | null>(null);
  const { busy, onSubmit } = useSubmit(async (form) => {
    const credentials = { email: String(form.get("email")), password: String(form.get("password")) };
    if (supabase) {
      check(await (await supabase()).auth.signInWithPassword(credentials));
      await signedIn();
      return;
    }
    setUnverified(null);
    try {
      const result = await unwrap(client.POST("/api/auth/signin", { body: credentials }));
      if (result.mfa_required && result.challenge) open({ kind: "twofactor", challenge: result.challenge, returnTo });
      else await signedIn();
    } catch (error) {
      if (error instanceof ApiError && error.code === "email_not_verified") setUnverified(credentials.email);
      else throw error;
    }
  });
  return (
    <>
      <DialogHeader>
        <DialogTitle>Sign in</DialogTitle>
        <DialogDescription>{notice ?? "Welcome back. Sign in to manage keys, usage and billing."}</DialogDescription>
      </DialogHeader>
      {unverified && <ResendVerification email={unverified} />}
      <OAuthButtons />
      <form className="grid gap-4" onSubmit={onSubmit}>
        <Field label="Email" name="email" type="email" autoComplete="email" required />
        <Field label="Password" name="password" type="password" autoComplete="current-password" required />
        <Submit busy={busy}>Sign in</Submit>
      </form>
      <DialogFooter className="sm:justify-between">
        <Button variant="link" className="px-0" onClick={() => open({ kind: "forgot" })}>
          Forgot password?
        </Button>
        <Button variant="link" className="px-0" onClick={() => open({ kind: "signup" })}>
          Create an account
        </Button>
      </DialogFooter>
    </>
  );
}

export function SignUpDialog() {
  const { open, close } = useModal();
  const supabase = useSupabase();
  const { busy, onSubmit } = useSubmit(async (form) => {
    const body = {
      name: String(form.get("name")),
      email: String(form.get("email")),
      password: String(form.get("password")),
    };
    if (supabase) {
      const { name, ...credentials } = body;
      const options = { data: { name }, emailRedirectTo: `${window.location.origin}/dashboard` };
      check(await (await supabase()).auth.signUp({ ...credentials, options }));
      close();
      notify.good("Account created.", "Check your inbox for the link that confirms your address.");
      return;
    }
    const notice = await unwrap(client.POST("/api/auth/signup", { body }));
    close();
    notify.good("Account created.", notice.message);
  });
  return (
    <>
      <DialogHeader>
        <DialogTitle>Create your account</DialogTitle>
        <DialogDescription>Start calling GPT API with any OpenAI client in minutes.</DialogDescription>
      </DialogHeader>
      <OAuthButtons />
      <form className="grid gap-4" onSubmit={onSubmit}>
        <Field label="Name" name="name" autoComplete="name" />
        <Field label="Email" name="email" type="email" autoComplete="email" required />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="new-password"
          minLength={10}
          hint="At least 10 characters."
          required
        />
        <Submit busy={busy}>Create account</Submit>
      </form>
      <DialogFooter>
        <Button variant="link" className="px-0" onClick={() => open({ kind: "signin" })}>
          Already have an account? Sign in
        </Button>
      </DialogFooter>
    </>
  );
}

export function ForgotPasswordDialog() {
  const { close } = useModal();
  const supabase = useSupabase();
  const { busy, onSubmit } = useSubmit(async (form) => {
    const email = String(form.get("email"));
    if (supabase) {
      const redirectTo = `${window.location.origin}/dashboard/settings`;
      check(await (await supabase()).auth.resetPasswordForEmail(email, { redirectTo }));
      close();
      notify.plain("If that address has an account, a reset link is on its way.");
      return;
    }
    const notice = await unwrap(client.POST("/api/auth/forgot-password", { body: { email } }));
    close();
    notify.plain(notice.message);
  });
  return (
    <>
      <DialogHeader>
        <DialogTitle>Reset your password</DialogTitle>
        <DialogDescription>We will email you a link to choose a new password.</DialogDescription>
      </DialogHeader>
      <form className="grid gap-4" onSubmit={onSubmit}>
        <Field label="Email" name="email" type="email" autoComplete="email" required />
        <Submit busy={busy}>Send reset link</Submit>
      </form>
    </>
  );
}

export function TwoFactorDialog({ challenge, returnTo }: { challenge: string; returnTo?: string }) {
  const signedIn = useSignedIn(returnTo);
  const { busy, onSubmit } = useSubmit(async (form) => {
    const code = String(form.get("code") ?? "").trim();
    const body = /^\d{6}$/.test(code) ? { challenge, code } : { challenge, recovery_code: code };
    await unwrap(client.POST("/api/auth/signin/2fa", { body }));
    await signedIn();
  });
  return (
    <>
      <DialogHeader>
        <DialogTitle>Two-factor authentication</DialogTitle>
        <DialogDescription>Enter the 6-digit code from your authenticator app, or a recovery code.</DialogDescription>
      </DialogHeader>
      <form className="grid gap-4" onSubmit={onSubmit}>
        <Field
          label="Code"
          name="code"
          inputMode="numeric"
          autoComplete="one-time-code"
          maxLength={40}
          required
          autoFocus
        />
        <Submit busy={busy}>Verify</Submit>
      </form>
    </>
  );
}
