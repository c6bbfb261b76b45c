import { useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";

import { client, reportError, unwrap } from "@/api/client";
import { queryKeys, useMe } from "@/api/hooks";
import type { components } from "@/api/schema";
import { CopyButton } from "@/components/CodeTabs";
import { Field } from "@/components/Field";
import { useModal } from "@/components/modals/ModalContext";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { notify } from "@/lib/toast";

type Setup = components["schemas"]["TotpSetup"];

function RecoveryCodes({ codes }: { codes: string[] }) {
  const text = codes.join("\n");
  return (
    <div role="alert" className="border-good/40 bg-good/10 grid gap-2 rounded-lg border p-4">
      <p className="font-medium">Recovery codes: each works once if you lose your phone. Store them now.</p>
      <div className="flex items-start gap-2">
        <pre className="bg-background flex-1 rounded-md border p-3 text-sm">{text}</pre>
        <CopyButton text={text} label="Copy recovery codes" />
      </div>
    </div>
  );
}

/** Turn TOTP on (scan, then prove with a code) or off (after a confirmation). */
export function TwoFactor() {
  const { data: me } = useMe();
  const queryClient = useQueryClient();
  const { open } = useModal();
  const [setup, setSetup] = useState<Setup | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const enabled = Boolean(me?.user.totp_enabled);
  const refresh = () => queryClient.invalidateQueries({ queryKey: queryKeys.me });

  const begin = async () => {
    try {
      setSetup(await unwrap(client.POST("/api/auth/2fa/setup")));
    } catch (error) {
      reportError(error);
    }
  };
  const finish = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const code = String(new FormData(event.currentTarget).get("code"));
    try {
      const result = await unwrap(client.POST("/api/auth/2fa/enable", { body: { code } }));
      setSetup(null);
      setCodes(result.recovery_codes);
      notify.good("Two-factor authentication is on.");
      await refresh();
    } catch (error) {
      reportError(error);
    }
  };
  const disable = () =>
    open({
      kind: "confirm",
      options: {
        title: "Turn off two-factor authentication?",
        description: "Signing in will need only your password.",
        confirmLabel: "Turn off",
        destructive: true,
        onConfirm: async () => {
          await unwrap(client.POST("/api/auth/2fa/disable"));
          notify.warn("Two-factor authentication is off.");
          await refresh();
        },
      },
    });

  const replaceCodes = () =>
    open({
      kind: "confirm",
      options: {
        title: "Replace your recovery codes?",
        description: "New codes are shown once; the old ones stop working.",
        confirmLabel: "Make new codes",
        onConfirm: async () => {
          setCodes((await unwrap(client.POST("/api/auth/2fa/recovery-codes"))).recovery_codes);
          notify.good("New recovery codes made; the old ones no longer work.");
        },
      },
    });

  return (
    <Card>
      <CardHeader>
        <CardTitle>Two-factor authentication</CardTitle>
        <CardDescription>
          {enabled
            ? "On: signing in asks for a code from your app."
            : "Off: add a code from an authenticator app to your password."}
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        {codes && <RecoveryCodes codes={codes} />}
        {enabled ? (
          <div className="flex flex-wrap gap-2">
            <Button variant="outline" onClick={replaceCodes}>
              New recovery codes
            </Button>
            <Button variant="outline" onClick={disable}>
              Turn off
            </Button>
          </div>
        ) : setup ? (
          <form onSubmit={finish} className="grid gap-4" aria-label="Turn on two-factor authentication">
            {/* The server renders the QR code as SVG from the secret it just issued. */}
            <div
              role="img"
              aria-label="QR code for your authenticator app"
              className="size-44 rounded-md bg-white p-2 [&_svg]:size-full"
              dangerouslySetInnerHTML={{ __html: setup.qr_svg }}
            />
            <p className="text-muted-foreground text-sm">
              Or enter this key by hand: <code className="break-all">{setup.secret}</code>
            </p>
            <Field label="Code from the app" name="code" inputMode="numeric" autoComplete="one-time-code" required />
            <div>
              <Button type="submit">Turn on</Button>
            </div>
          </form>
        ) : (
          <div>
            <Button onClick={begin}>Set up</Button>
          </div>
        )}
      </CardContent>
    </Card>
  );
}
