import { useState, type FormEvent } from "react";

import { client, unwrap } from "@/api/client";
import { useMe } from "@/api/hooks";
import { Field } from "@/components/Field";
import { useModal } from "@/components/modals/ModalContext";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { notify } from "@/lib/toast";

/** Move the account to another address: confirmed first, then finished from the mailed link. */
export function EmailChange() {
  const { data: me } = useMe();
  const { open } = useModal();
  const [address, setAddress] = useState("");
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const newEmail = address.trim();
    open({
      kind: "confirm",
      options: {
        title: `Move your account to ${newEmail}?`,
        description: "We mail a link to the new address; the change happens when you open it.",
        confirmLabel: "Send the link",
        onConfirm: async () => {
          const notice = await unwrap(client.POST("/api/auth/change-email", { body: { new_email: newEmail } }));
          notify.good("Check the new inbox.", notice.message);
          setAddress("");
        },
      },
    });
  };
  return (
    <Card>
      <CardHeader>
        <CardTitle>Email address</CardTitle>
        <CardDescription>Now {me?.user.email}. Sign-in and account mail go here.</CardDescription>
      </CardHeader>
      <CardContent>
        <form className="grid gap-4" onSubmit={submit} aria-label="Change email">
          <Field
            label="New email address"
            name="new_email"
            type="email"
            autoComplete="email"
            required
            value={address}
            onChange={(event) => setAddress(event.target.value)}
          />
          <div>
            <Button type="submit">Change email</Button>
          </div>
        </form>
      </CardContent>
    </Card>
  );
}
