import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { FormEvent } from "react";

import { client, reportError, unwrap } from "@/api/client";
import { Failed, Loading } from "@/components/States";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { notify } from "@/lib/toast";

export const notificationsKey = ["me", "notifications"] as const;

/** Which mails this person gets; security mail is always sent and says so. */
export function NotificationSettings() {
  const queryClient = useQueryClient();
  const settings = useQuery({
    queryKey: notificationsKey,
    queryFn: () => unwrap(client.GET("/api/me/notifications")),
  });
  const save = useMutation({
    mutationFn: (choices: Record<string, boolean>) => unwrap(client.PUT("/api/me/notifications", { body: choices })),
    onSuccess: (saved) => {
      queryClient.setQueryData(notificationsKey, saved);
      notify.good("Mail settings saved.");
    },
    onError: reportError,
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const choices = Object.fromEntries((settings.data?.categories ?? []).map((c) => [c.key, form.has(c.key)]));
    save.mutate(choices);
  };
  return (
    <Card>
      <CardHeader>
        <CardTitle>Mail notifications</CardTitle>
        <CardDescription>Choose which mails you get. Every one of them also has an unsubscribe link.</CardDescription>
      </CardHeader>
      <CardContent>
        {settings.isPending ? (
          <Loading label="Loading mail settings" rows={2} />
        ) : settings.isError ? (
          <Failed message="Could not load your mail settings." />
        ) : (
          <form className="grid gap-3" onSubmit={submit} aria-label="Mail notifications">
            {settings.data.categories.map((category) => (
              <label key={category.key} className="flex items-start gap-2 text-sm">
                <input type="checkbox" name={category.key} defaultChecked={category.enabled} className="mt-1" />
                <span>
                  <span className="font-medium">{category.label}</span>
                  <span className="text-muted-foreground block">{category.description}</span>
                </span>
              </label>
            ))}
            <p className="text-muted-foreground text-sm">{settings.data.always_sent}</p>
            <div>
              <Button type="submit" disabled={save.isPending}>
                Save mail settings
              </Button>
            </div>
          </form>
        )}
      </CardContent>
    </Card>
  );
}
