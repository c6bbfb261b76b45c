import { useMutation } from "@tanstack/react-query";
import { Rss } from "lucide-react";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { useSearchParams } from "react-router-dom";

import { client, reportError, unwrap } from "@/api/client";
import { Field } from "@/components/Field";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { notify } from "@/lib/toast";

/** Links from incident mail land on /status?confirm=… or ?unsubscribe=…: done once, on arrival. */
function useMailedLink() {
  const [params, setParams] = useSearchParams();
  const handled = useRef(false);
  useEffect(() => {
    const confirm = params.get("confirm");
    const unsubscribe = params.get("unsubscribe");
    if (handled.current || (!confirm && !unsubscribe)) return;
    handled.current = true;
    setParams({}, { replace: true });
    const call = confirm
      ? client.POST("/api/status/subscribe/confirm", { body: { token: confirm } })
      : client.POST("/api/status/unsubscribe", { body: { token: unsubscribe ?? "" } });
    unwrap(call)
      .then((notice) => notify.good(notice.message))
      .catch(reportError);
  }, [params, setParams]);
}

export function Subscribe() {
  useMailedLink();
  const [email, setEmail] = useState("");
  const subscribe = useMutation({
    mutationFn: (address: string) => unwrap(client.POST("/api/status/subscribe", { body: { email: address } })),
    onSuccess: (notice) => {
      notify.good("Almost there.", notice.message);
      setEmail("");
    },
    onError: reportError,
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    subscribe.mutate(email);
  };
  return (
    <Card>
      <CardHeader>
        <CardTitle>Get incident updates</CardTitle>
        <CardDescription>
          By email (confirm from the link we send; every mail can unsubscribe) or by feed.
        </CardDescription>
      </CardHeader>
      <CardContent className="flex flex-wrap items-end gap-3">
        <form onSubmit={submit} className="flex flex-wrap items-end gap-2" aria-label="Subscribe by email">
          <Field
            label="Email"
            type="email"
            required
            autoComplete="email"
            value={email}
            onChange={(event) => setEmail(event.target.value)}
          />
          <Button type="submit" disabled={subscribe.isPending}>
            Subscribe
          </Button>
        </form>
        <Button variant="outline" asChild>
          <a href="/api/status/feed.atom">
            <Rss aria-hidden /> Atom feed
          </a>
        </Button>
      </CardContent>
    </Card>
  );
}
