import { Loader2 } from "lucide-react";
import { useState, type FormEvent, type ReactNode } from "react";

import { ApiError, client, reportError, unwrap } from "@/api/client";
import { useMe } from "@/api/hooks";
import { AnalyticsConsent } from "@/components/AnalyticsConsent";
import { Field } from "@/components/Field";
import { Button } from "@/components/ui/button";
import { DialogClose, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { Label } from "@/components/ui/label";
import { notify } from "@/lib/toast";

import { useModal, type ConfirmOptions } from "./ModalContext";

export const CONTACT_EMAIL = "support@gpt.ai";

/** Asks before a consequential action. When the server wants proof it is really you (a
sign-in older than a few minutes), it asks for the password or a 2FA code, then retries. */
export function ConfirmDialog({ options }: { options: ConfirmOptions }) {
  const { close } = useModal();
  const { data: me } = useMe();
  const [busy, setBusy] = useState(false);
  const [needsProof, setNeedsProof] = useState(false);
  const run = async (proof?: string) => {
    setBusy(true);
    try {
      if (proof !== undefined) {
        const body = me?.user.has_password ? { password: proof } : { code: proof };
        await unwrap(client.POST("/api/auth/confirm", { body }));
      }
      await options.onConfirm();
      close();
    } catch (error) {
      if (error instanceof ApiError && error.code === "reauthentication_required") setNeedsProof(true);
      else reportError(error);
    } finally {
      setBusy(false);
    }
  };
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    void run(needsProof ? String(new FormData(event.currentTarget).get("proof")) : undefined);
  };
  return (
    <form onSubmit={submit} className="grid gap-4">
      <DialogHeader>
        <DialogTitle>{options.title}</DialogTitle>
        <DialogDescription>{options.description}</DialogDescription>
      </DialogHeader>
      {needsProof && (
        <Field
          label={me?.user.has_password ? "Confirm with your password" : "Confirm with a 2FA code"}
          name="proof"
          type={me?.user.has_password ? "password" : "text"}
          autoComplete={me?.user.has_password ? "current-password" : "one-time-code"}
          required
          autoFocus
        />
      )}
      <DialogFooter>
        <DialogClose asChild>
          <Button type="button" variant="outline">
            Cancel
          </Button>
        </DialogClose>
        <Button type="submit" variant={options.destructive ? "destructive" : "default"} disabled={busy}>
          {busy && <Loader2 className="animate-spin" aria-hidden />}
          {options.confirmLabel ?? "Confirm"}
        </Button>
      </DialogFooter>
    </form>
  );
}

function Legal({ title, sections, children }: { title: string; sections: [string, string][]; children?: ReactNode }) {
  return (
    <>
      <DialogHeader>
        <DialogTitle>{title}</DialogTitle>
        <DialogDescription>Last updated January 2025.</DialogDescription>
      </DialogHeader>
      <div className="grid gap-4 text-sm">
        {sections.map(([heading, body]) => (
          <section key={heading}>
            <h3 className="mb-1 font-medium">{heading}</h3>
            <p className="text-muted-foreground">{body}</p>
          </section>
        ))}
        {children}
      </div>
      <DialogFooter>
        <DialogClose asChild>
          <Button>Close</Button>
        </DialogClose>
      </DialogFooter>
    </>
  );
}

export function PrivacyDialog() {
  return (
    <Legal
      title="Privacy Policy"
      sections={[
        [
          "What we collect",
          "Your account details (name, email), billing records, and metadata about API requests: time, model, token counts and cost.",
        ],
        [
          "Prompts and completions",
          "Request and response bodies pass through to the model servers and are not stored.",
        ],
        [
          "How we use it",
          "To run the service, bill you accurately, prevent abuse, and contact you about your account.",
        ],
        ["Sharing", "Payments are processed by Stripe. We do not sell personal data."],
        [
          "Your rights",
          `You can export or delete your account at any time from Settings, or by writing to ${CONTACT_EMAIL}.`,
        ],
      ]}
    >
      <AnalyticsConsent />
    </Legal>
  );
}

export function TermsDialog() {
  return (
    <Legal
      title="Terms of Service"
      sections={[
        ["The service", "GPT API provides OpenAI-compatible inference billed per token at the published prices."],
        ["Your account", "Keep your credentials and API keys secret; you are responsible for usage made with them."],
        ["Payment", "Credit is prepaid. Requests are refused when your balance is exhausted."],
        ["Acceptable use", "No unlawful content, no attempts to disrupt the service or other customers."],
        [
          "Liability",
          "The service is provided as is; our liability is limited to the amount you paid in the last 3 months.",
        ],
      ]}
    />
  );
}

/** Contact Us: the message is stored and mailed to the operator, so nobody needs an email app. */
export function ContactDialog() {
  const { close } = useModal();
  const { data: me } = useMe();
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const body = {
      name: String(form.get("name") ?? ""),
      email: String(form.get("email") ?? ""),
      message: String(form.get("message") ?? ""),
    };
    setBusy(true);
    try {
      await unwrap(client.POST("/api/contact", { body }));
      notify.good("Message sent.", "We will answer by email.");
      close();
    } catch (error) {
      reportError(error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <DialogHeader>
        <DialogTitle>Contact us</DialogTitle>
        <DialogDescription>
          Questions about billing, limits or an integration? Send us a message, or write to{" "}
          <a className="underline" href={`mailto:${CONTACT_EMAIL}`}>
            {CONTACT_EMAIL}
          </a>
          .
        </DialogDescription>
      </DialogHeader>
      <form className="grid gap-4" onSubmit={(event) => void submit(event)}>
        <Field
          label="Name"
          name="name"
          autoComplete="name"
          defaultValue={me?.user.name ?? ""}
          maxLength={200}
          required
        />
        <Field
          label="Email"
          name="email"
          type="email"
          autoComplete="email"
          defaultValue={me?.user.email ?? ""}
          maxLength={320}
          required
        />
        <div className="grid gap-2">
          <Label htmlFor="contact-message">Message</Label>
          <textarea
            id="contact-message"
            name="message"
            required
            maxLength={5000}
            rows={5}
            className="border-input dark:bg-input/30 focus-visible:ring-ring/50 rounded-md border bg-transparent px-3 py-2 text-sm shadow-xs outline-none focus-visible:ring-[3px]"
          />
        </div>
        <Button type="submit" disabled={busy}>
          {busy && <Loader2 className="animate-spin" aria-hidden />}
          Send message
        </Button>
      </form>
    </>
  );
}
